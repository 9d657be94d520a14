#pragma once

namespace mqtt {
inline namespace v1 {

// paho's MQTT_LOG_* levels.
enum class log_level : int { info = 0x01, notice = 0x02, warning = 0x04, err = 0x08, debug = 0x10 };

}  // namespace v1
}  // namespace mqtt
