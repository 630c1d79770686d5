// Listen on the WebSocket gateway and re-read the variable with sread at every `refresh` (sent when
// anything in the account changes). Needs the arduinoWebSockets library by Links2004 (Library Manager:
// "WebSockets" by Markus Sattler).
#include "varistore.h"
#include <WebSocketsClient.h>

WebSocketsClient gateway;
bool authenticated = false;  // the gateway answered `ok` to our key
bool reread = false;
bool refused = false;
unsigned long lastPing = 0;

void onGateway(WStype_t type, uint8_t *payload, size_t length) {
  if (type == WStype_CONNECTED) {
    gateway.sendTXT("key " VARISTORE_KEY);  // first, within 10 s: anything else closes the socket
  } else if (type == WStype_DISCONNECTED) {
    authenticated = false;  // the library connects again by itself
  } else if (type == WStype_TEXT) {
    String text = (const char *)payload;
    if (text == "ok") {
      authenticated = true;
      reread = true;  // changes made while we were away sent no refresh to us
    } else if (text == "refresh") {
      reread = true;
    } else if (text.startsWith("error_")) {  // error_invalid_key, error_unconfirmed, error_banned
      Serial.println("Stopped: the gateway answers " + text + ". Fix config.h and upload again.");
      refused = true;
    }  // `pong` needs nothing
  }
}

void setup() {
  Serial.begin(115200);
  while (!vsConnect()) Serial.println("Wi-Fi: not connected yet");
#ifdef VARISTORE_CA_CERT
  gateway.beginSslWithCA(VARISTORE_HOST, VARISTORE_WS_PORT, "/ws", VARISTORE_CA_CERT);
#else
  gateway.begin(VARISTORE_HOST, VARISTORE_WS_PORT, "/ws");
#endif
  gateway.onEvent(onGateway);
  gateway.setReconnectInterval(5000);
}

void loop() {
  if (refused) {
    gateway.disconnect();
    while (true) delay(1000);
  }
  gateway.loop();
  if (authenticated && millis() - lastPing > 30000) {  // the gateway closes a socket silent for 60 s
    gateway.sendTXT("ping");
    lastPing = millis();
  }
  if (reread) {
    reread = false;
    String answer;
    int at = 0;
    vsGet("action=sread&id=" VARISTORE_ID, answer);
    Serial.println(vsField(answer, at) == "success" ? "value: " + vsField(answer, at) : "sread: " + answer);
  }
}
