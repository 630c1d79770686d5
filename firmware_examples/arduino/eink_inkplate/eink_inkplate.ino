// The variable's graph on an Inkplate, redrawn every ten minutes with deep sleep in between: the
// server draws a 1-bit BMP of the panel's size (sgraph&eink=true) and the Inkplate library fetches and
// draws it. Needs Soldered's Inkplate board package and library; only config.h is used from here.
#include "config.h"
#include <Inkplate.h>
#include <esp_sleep.h>

Inkplate display(INKPLATE_1BIT);  // Inkplate 2, 4TEMPERA, 6COLOR...: `Inkplate display;`

void setup() {
  display.begin();
  display.clearDisplay();
#ifdef VARISTORE_CA_CERT
  // The library fetches HTTPS from port 443 only, so this URL names no port.
  display.applyHttpsCertificate(VARISTORE_CA_CERT);
  String url = "https://" VARISTORE_HOST "/?key=" VARISTORE_KEY;
#else
  String url = String("http://" VARISTORE_HOST ":") + VARISTORE_PORT + "/?key=" VARISTORE_KEY;
#endif
  url += "&action=sgraph&id=" VARISTORE_ID "&eink=true&width=" + String(display.width()) + "&height=" +
         String(display.height());

  if (!display.connectWiFi(WIFI_SSID, WIFI_PASSWORD)) {
    display.println("Wi-Fi: not connected");
  } else if (!display.drawImage(url, 0, 0, false, false)) {
    // sgraph answers a bare result code instead of a picture: open the URL in a browser to read it.
    display.println("No graph: check VARISTORE_KEY and VARISTORE_ID");
  }
  display.display();

  esp_sleep_enable_timer_wakeup(10 * 60 * 1000000ULL);
  esp_deep_sleep_start();
}

void loop() {}
