"""The README's screenshot of the demo page (needs the demo and browser extras and Chromium):

    KERAS_BACKEND=jax python tools/demo_screenshot.py docs/demo.png

Starts `python -m zoo.demo` on a free port, opens the Translate tab in headless Chromium,
translates the small_vocab preset's first test sentence with a beam of 4, and saves the page
as a palette PNG (under 300 KB).
"""

import io
import shutil
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from zoo.demo.server import DemoServer


def main(out):
    with DemoServer() as url:
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
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
    image.quantize(128).save(out, optimize=True)
    print(f"{out}: {Path(out).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/demo.png"))
