// Varistore: what the sketches share (Wi-Fi, one GET to the API, the fields of a simple answer).
// For ESP8266 (ESP8266HTTPClient, BearSSL) and ESP32 (HTTPClient, WiFiClientSecure).
#pragma once
#include "config.h"

#if defined(ESP8266)
#include <ESP8266HTTPClient.h>
#include <ESP8266WiFi.h>
#else
#include <HTTPClient.h>
#include <WiFi.h>
#endif
#include <WiFiClientSecure.h>
#include <time.h>

#ifdef VARISTORE_CA_CERT
#define VARISTORE_SCHEME "https://"
#if defined(ESP8266)
BearSSL::WiFiClientSecure vsClient;
BearSSL::X509List vsTrust(VARISTORE_CA_CERT);
#else
WiFiClientSecure vsClient;
#endif
#else
#define VARISTORE_SCHEME "http://"
WiFiClient vsClient;
#endif

// Joins Wi-Fi and, for HTTPS, sets the clock (certificates are checked against it); false after `seconds`.
bool vsConnect(unsigned long seconds = 30) {
  unsigned long start = millis();
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) {
    if (millis() - start > seconds * 1000) return false;
    delay(200);
  }
#ifdef VARISTORE_CA_CERT
#if defined(ESP8266)
  vsClient.setTrustAnchors(&vsTrust);
#else
  vsClient.setCACert(VARISTORE_CA_CERT);
#endif
  configTime(0, 0, "pool.ntp.org");
  while (time(nullptr) < 1700000000) {  // still 1970: not set yet
    if (millis() - start > seconds * 1000) return false;
    delay(200);
  }
#endif
  return true;
}

// The API's URL for `query` (e.g. "action=sread&id=..."), with the key.
String vsUrl(const String &query) {
  return String(VARISTORE_SCHEME VARISTORE_HOST ":") + VARISTORE_PORT + "/?key=" VARISTORE_KEY "&" + query;
}

// GETs `query`. Returns the HTTP status: 200 for every protocol answer, 429 (error_cooldown) for more than
// 25 requests a second, 503 (error_db) while the database is down, or a negative HTTPClient error when
// the network failed. `body` gets the answer, or the error's description.
int vsGet(const String &query, String &body) {
  HTTPClient http;
  http.setTimeout(10000);
  if (!http.begin(vsClient, vsUrl(query))) {
    body = "bad URL";
    return -1;
  }
  int status = http.GET();
  body = status > 0 ? http.getString() : HTTPClient::errorToString(status);
  http.end();
  return status;
}

// The next `|`-separated field of a simple answer (`success|25.3`), from `at`, which moves past it.
// (A string variable's value that holds `|` cannot be told apart: read those with `read`.)
String vsField(const String &answer, int &at) {
  int bar = answer.indexOf('|', at);
  if (bar < 0) bar = answer.length();
  String field = answer.substring(at, bar);
  at = bar + 1;
  return field;
}
