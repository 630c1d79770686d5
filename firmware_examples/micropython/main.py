"""Runs at boot on an ESP32 or a Raspberry Pi Pico W: writes a reading every minute, and between writes
prints every change in the account as the WebSocket gateway announces it. Fill in the five settings."""

import sys
import time

import machine
import varistore
import wifi

WIFI_SSID = "your-network"
WIFI_PASSWORD = "your-password"
HOST = "varistore.example"  # your server's name or address, without http://
KEY = "YOUR_KEY"  # the account's API key (dashboard, Account)
VAR_ID = "VAR_ID"  # the variable to write (dashboard, Variables)
PORT, WS_PORT = 80, 8001  # behind the reverse proxy (infra/nginx): WS_PORT = PORT
EVERY = 60  # seconds between writes: a new variable's cooldown is 60 s


def reading():
    """Replace with your sensor. Here: the Pico's own temperature sensor, elsewhere seconds since boot."""
    if sys.platform == "rp2":
        volts = machine.ADC(4).read_u16() * 3.3 / 65535
        return round(27 - (volts - 0.706) / 0.001721, 1)
    return time.ticks_ms() // 1000


def main():
    vs = varistore.Varistore(HOST, KEY, PORT, WS_PORT)
    refreshes = None
    while True:
        try:
            wifi.connect(WIFI_SSID, WIFI_PASSWORD)
            vs.write(VAR_ID, reading())
            print("written")
            if refreshes is None:
                refreshes = varistore.Refreshes(vs)
                refreshes.open()
            until = time.time() + EVERY
            while time.time() < until:
                if refreshes.wait(until - time.time()):
                    print("changed:", vs.latest())
        except varistore.VaristoreError as exc:
            result = exc.args[0]
            print("refused:", result)
            if result in ("error_invalid_key", "error_invalid_id", "error_unconfirmed", "error_banned"):
                return  # the settings need fixing: retrying would not help
            time.sleep(EVERY)  # error_cooldown: written too soon; error_db: the server's trouble
        except (OSError, ValueError) as exc:  # network trouble, mostly: start over after a pause
            print("failed:", exc)
            if refreshes is not None:
                refreshes.close()
                refreshes = None
            time.sleep(10)


main()
