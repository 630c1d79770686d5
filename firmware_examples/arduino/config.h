// Varistore: the one file to edit for every sketch here. Arduino builds a sketch from its own folder
// only, so copy this file and varistore.h next to the .ino you open (firmware_examples/README.md).
#pragma once

#define WIFI_SSID "your-network"
#define WIFI_PASSWORD "your-password"

// Your server's name or address, the API's port and the WebSocket gateway's port.
// `make run` on a computer (started with VARISTORE_HOST=0.0.0.0): that computer's address, 8000 and 8001.
// Behind infra/nginx: your domain, 80 for both (443 for both with the CA certificate below).
#define VARISTORE_HOST "varistore.example"
#define VARISTORE_PORT 80
#define VARISTORE_WS_PORT 80

#define VARISTORE_KEY "YOUR_KEY"    // your API key: the dashboard (/app/) shows it once, when it is made
#define VARISTORE_ID "VARIABLE_ID"  // the float variable the sketches write and read

// HTTPS: uncomment, paste the root certificate (PEM) of the authority that signs your server's
// certificate (Let's Encrypt: ISRG Root X1, from letsencrypt.org/certificates), and set both ports to
// 443. A root lasts for years; the server's own certificate, and so its fingerprint, changes at every
// renewal, which is why these sketches never pin a fingerprint. Without it they speak plain HTTP.
// #define VARISTORE_CA_CERT R"PEM(
// -----BEGIN CERTIFICATE-----
// ...
// -----END CERTIFICATE-----
// )PEM"
