"""The README's screenshot of the demo page (needs the demo and browser extras and Chromium):

    KERAS_BACKEND=jax python tools/demo_screenshot.py docs/demo.png

Starts `python -m zoo.demo` on a free port, opens the Translate tab in headless Chromium,
translates the small_vocab preset's first test sentence with a beam of 4, and saves the page
as a palette PNG (under 300 KB).
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright


def main(out):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "zoo.demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as driver:
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(url)
            page.get_by_role("tab", name="Translate").click()
            page.fill(
                "#sentence textarea",
                "paris is beautiful during february , but it is sometimes warm in october .",
            )
            page.click("#translate-run")
            page.wait_for_selector("#translate-attention img", timeout=300_000)
            png = page.screenshot(full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
    image.quantize(128).save(out, optimize=True)
    print(f"{out}: {Path(out).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/demo.png"))
