// Write a reading every minute with swrite, read it back with sread, and list every variable's latest
// value with slatest. Each answer is handled as firmware_examples/README.md says: success; error_cooldown
// (wait the cooldown that `info` tells); network errors and error_db (back off); any other result code
// (a key that does not work, a wrong id...) stops the sketch, which says why.
#include "varistore.h"

const unsigned long MINUTE = 60000;
unsigned long backoff = 5000;  // after a network error; doubles up to ten minutes

float readSensor() {
  return 20 + random(0, 50) / 10.0;  // stands for your sensor
}

// The variable's cooldown from `info` (JSON: ..."cooldown":60,...), in milliseconds; a minute if unknown.
unsigned long cooldown() {
  String info;
  int at = vsGet("action=info&id=" VARISTORE_ID, info) == 200 ? info.indexOf("\"cooldown\":") : -1;
  return at < 0 ? MINUTE : info.substring(at + 11).toInt() * 1000UL;
}

void printValueAndLatest() {
  String answer;
  int at = 0;
  vsGet("action=sread&id=" VARISTORE_ID, answer);  // success|21.50
  if (vsField(answer, at) == "success") Serial.println("sread: " + vsField(answer, at));

  vsGet("action=slatest", answer);  // success|2|id1|value1|id2|value2|
  at = 0;
  if (vsField(answer, at) != "success") return;
  for (long count = vsField(answer, at).toInt(); count > 0; count--) {
    String id = vsField(answer, at);
    Serial.println("  " + id + " = " + vsField(answer, at));
  }
}

void setup() {
  Serial.begin(115200);
  while (!vsConnect()) Serial.println("Wi-Fi: not connected yet");
}

void loop() {
  String answer;
  int status = vsGet("action=swrite&id=" VARISTORE_ID "&value=" + String(readSensor(), 2), answer);
  if (status < 0 || status >= 500) {
    // No answer, or error_db. A write whose answer was lost may have been stored: the next one may get
    // error_cooldown, which is handled below.
    Serial.printf("Network: %s; again in %lu s\n", answer.c_str(), backoff / 1000);
    delay(backoff);
    backoff = min(backoff * 2, 10 * MINUTE);
    return;
  }
  backoff = 5000;
  if (answer == "success") {
    printValueAndLatest();
    delay(MINUTE);
  } else if (answer == "error_cooldown") {  // a longer cooldown than a minute, or a lost answer's write
    delay(cooldown());
  } else {
    // error_invalid_key (a wrong or regenerated key), error_unconfirmed, error_banned, error_invalid_id,
    // error_invalid_parameters (a value the variable's type refuses): retrying cannot help.
    Serial.println("Stopped: the server answers " + answer + ". Fix config.h and upload again.");
    while (true) delay(1000);
  }
}
