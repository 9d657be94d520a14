#pragma once

namespace mqtt {
inline namespace v1 {
namespace detail {

// std::visit over a set of lambdas.
template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
