// The variable's graph on a Waveshare-style SPI e-paper panel with GxEPD2, redrawn every ten minutes:
// download the 1-bit BMP the server draws at the panel's size (sgraph&eink=true) and draw its pixels.
// Needs GxEPD2 by Jean-Marc Zingg and Adafruit GFX (Library Manager). Set your panel's class (here the
// Waveshare 4.2", 400 x 300) and its pins below.
#include "varistore.h"
#include <GxEPD2_BW.h>

#if defined(ESP8266)  // SPI: SCK D5, MOSI D7
GxEPD2_BW<GxEPD2_420, GxEPD2_420::HEIGHT> display(GxEPD2_420(/*CS=D8*/ 15, /*DC=D3*/ 0, /*RST=D4*/ 2, /*BUSY=D2*/ 4));
#else  // ESP32, SPI: SCK 18, MOSI 23
GxEPD2_BW<GxEPD2_420, GxEPD2_420::HEIGHT> display(GxEPD2_420(/*CS=*/5, /*DC=*/17, /*RST=*/16, /*BUSY=*/4));
#endif

// A 1-bit BMP of the whole panel (62 bytes of header and palette, then rows padded to 4 bytes), and a
// byte to end a text answer.
uint8_t bmp[62 + GxEPD2_420::HEIGHT * ((GxEPD2_420::WIDTH + 31) / 32 * 4) + 1];

uint32_t le32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

// Fills `bmp` with the graph; false (and says why) when the answer is not a picture.
bool download() {
  HTTPClient http;
  http.setTimeout(10000);
  String query = "action=sgraph&id=" VARISTORE_ID "&eink=true&width=" + String(display.width()) +
                 "&height=" + String(display.height());
  if (!http.begin(vsClient, vsUrl(query))) return false;
  int status = http.GET();
  int size = http.getSize();  // exact: pictures are never sent chunked
  size_t got = 0;
  if (status == 200 && size > 0 && size < (int)sizeof bmp) got = http.getStream().readBytes(bmp, size);
  http.end();
  if (got > 62 && bmp[0] == 'B' && bmp[1] == 'M') return true;
  bmp[got] = 0;  // sgraph's errors are bare text: error_invalid_key, error_invalid_id...
  Serial.printf("No graph (HTTP %d): %s\n", status, (const char *)bmp);
  return false;
}

// Draws the BMP's pixels. Its rows are stored bottom-up, and its palette tells which bit value is black:
// 0 in sgraph's BMP, 1 in the one invert=true gives.
void drawBmp() {
  uint32_t offset = le32(bmp + 10), width = le32(bmp + 18), height = le32(bmp + 22);
  uint32_t rowBytes = (width + 31) / 32 * 4;
  uint8_t black = bmp[54] < 128 ? 0 : 1;  // the first palette entry's blue
  for (uint32_t y = 0; y < height; y++) {
    const uint8_t *row = bmp + offset + (height - 1 - y) * rowBytes;
    for (uint32_t x = 0; x < width; x++) {
      if ((row[x / 8] >> (7 - x % 8) & 1) == black) display.drawPixel(x, y, GxEPD_BLACK);
    }
  }
}

void setup() {
  Serial.begin(115200);
  display.init(115200, true, 2, false);  // a short reset pulse, which Waveshare's newer boards need
  while (!vsConnect()) Serial.println("Wi-Fi: not connected yet");
}

void loop() {
  if (download()) {
    display.setFullWindow();
    display.firstPage();
    do {
      drawBmp();
    } while (display.nextPage());
    display.hibernate();
  }
  delay(10 * 60 * 1000UL);
}
