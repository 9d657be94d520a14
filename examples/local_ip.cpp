// The notebook's note on finding this computer's host name and IP address,
// to give to MQTT clients on other machines.

#include <asio/io_context.hpp>
#include <asio/ip/host_name.hpp>
#include <asio/ip/tcp.hpp>

#include <iostream>

int main()
{
    try {
        const std::string hostname = asio::ip::host_name();
        std::cout << hostname << "\n";
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        for (const auto& entry : resolver.resolve(hostname, ""))
            std::cout << entry.endpoint().address().to_string() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "local_ip: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
