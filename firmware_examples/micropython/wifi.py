"""Joining Wi-Fi on an ESP32 or a Raspberry Pi Pico W (MicroPython's network.WLAN). Board-only: the rest of
the example, varistore.py, runs on a computer too."""

import time

import network


def connect(ssid, password, timeout=30):
    """Join `ssid` (or stay on it) and return the WLAN; OSError when it takes longer than `timeout` seconds."""
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(ssid, password)
        deadline = time.time() + timeout
        while not wlan.isconnected():
            if time.time() > deadline:
                wlan.active(False)  # a Pico W retries cleanly only after a reset of the interface
                raise OSError("Wi-Fi: cannot join " + ssid)
            time.sleep(1)
        print("Wi-Fi: joined", ssid, "as", wlan.ifconfig()[0])
    return wlan
