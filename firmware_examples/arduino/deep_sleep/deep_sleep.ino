// Deep-sleep friendly: wake, join Wi-Fi, write one reading with swrite, sleep. loop() never runs.
// ESP8266: wire GPIO16 (D0) to RST, which is how its timer wakes it. ESP32: nothing to wire.
#include "varistore.h"
#if !defined(ESP8266)
#include <esp_sleep.h>
#endif

const uint64_t SLEEP_SECONDS = 300;  // at least the variable's cooldown (60 s)

float readSensor() {
  return 20 + random(0, 50) / 10.0;  // stands for your sensor
}

void sleepFor(uint64_t seconds) {  // 0: until the reset button
#if defined(ESP8266)
  ESP.deepSleep(seconds * 1000000ULL);
#else
  if (seconds > 0) esp_sleep_enable_timer_wakeup(seconds * 1000000ULL);
  esp_deep_sleep_start();
#endif
}

void setup() {
  Serial.begin(115200);
  String answer = "Wi-Fi: not connected";
  if (vsConnect(15)) vsGet("action=swrite&id=" VARISTORE_ID "&value=" + String(readSensor(), 2), answer);
  Serial.println(answer);
  // A key that does not work will not start working: sleep for good rather than drain the battery.
  if (answer == "error_invalid_key" || answer == "error_unconfirmed" || answer == "error_banned") sleepFor(0);
  // success, error_cooldown (woken too early) or a network error: the next wake writes again.
  sleepFor(SLEEP_SECONDS);
}

void loop() {}
