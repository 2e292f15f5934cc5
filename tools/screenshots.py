"""Take the README screenshots from a running `make demo`, in headless Chromium.

    python3 tools/screenshots.py [--base-url http://127.0.0.1:8069] [--out static/description]
                                 [--only admin|cashier|accountant|kiosk ...]

Drives Chromium through the DevTools protocol (websocket-client, in the runtime venv): logs in as
each role, opens the pages the README shows, and saves PNGs. It changes nothing in the database
except what a user would: the cashier's screenshots take a real payment on the simulator, through
the kit's simulator client (``tools/kit``).
"""

import argparse
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.kit.odoo import REPO_DIR, free_port
from tools.kit.simulator import SimulatorClient

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1366,800",
]


class Browser:
    """A headless Chromium page driven over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="pos-compago-shots-")
        port = free_port()
        self.process = subprocess.Popen(
            [
                shutil.which("chromium") or "chromium",
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ids = itertools.count(1)
        self.ws = websocket.create_connection(self._page_socket(port), timeout=60)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _page_socket(self, port):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as answer:
                    pages = [t for t in json.load(answer) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("Chromium did not start")

    def call(self, method, **params):
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        return result.get("result", {}).get("value")

    def goto(self, url, settle=2.5):
        self.call("Page.navigate", url=url)
        time.sleep(settle)

    def wait_for(self, selector, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{selector} did not appear")

    def click(self, selector, text=None):
        """Click the first element matching ``selector`` (and containing ``text``)."""
        self.wait_for(selector)
        found = self.evaluate(
            f"""(() => {{
                const text = {json.dumps(text or "")};
                const nodes = [...document.querySelectorAll({json.dumps(selector)})];
                const node = nodes.find(n => !text || n.innerText.includes(text));
                if (node) {{ node.click(); return true; }}
                return false;
            }})()"""
        )
        if not found:
            raise RuntimeError(f"nothing to click at {selector} {text or ''}")
        time.sleep(0.8)

    def tap(self, selector, text=None):
        """Click like a finger (pointer events at the element's centre): the kiosk's product
        cards ignore a synthetic click()."""
        self.wait_for(selector)
        box = self.evaluate(
            f"""(() => {{
                const text = {json.dumps(text or "")};
                const nodes = [...document.querySelectorAll({json.dumps(selector)})];
                const node = nodes.find(n => !text || n.innerText.includes(text));
                if (!node) {{ return null; }}
                node.scrollIntoView({{block: "center"}});
                const rect = node.getBoundingClientRect();
                return [rect.x + rect.width / 2, rect.y + rect.height / 2];
            }})()"""
        )
        if not box:
            raise RuntimeError(f"nothing to tap at {selector} {text or ''}")
        for event in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=event,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )
        time.sleep(0.8)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"[screenshots] {path}")

    def login(self, base_url, login, password):
        self.call("Network.clearBrowserCookies")
        self.goto(f"{base_url}/web/login")
        self.evaluate(
            f"""(() => {{
                document.querySelector('input[name=login]').value = {json.dumps(login)};
                document.querySelector('input[name=password]').value = {json.dumps(password)};
                document.querySelector('form.oe_login_form').submit();
            }})()"""
        )
        time.sleep(3)

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8069")
    parser.add_argument("--simulator-url", default="http://127.0.0.1:8099")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "static" / "description")
    parser.add_argument(
        "--only", action="append", choices=["admin", "cashier", "accountant", "kiosk"]
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["admin", "cashier", "accountant", "kiosk"])
    browser = Browser()
    try:
        browser.call("Network.enable")
        if "admin" in only:
            take_admin_screenshots(browser, args.base_url, args.out)
        if "cashier" in only:
            take_cashier_screenshots(browser, args.base_url, args.simulator_url, args.out)
        if "accountant" in only:
            take_accountant_screenshots(browser, args.base_url, args.out)
        if "kiosk" in only:
            take_kiosk_screenshots(browser, args.base_url, args.out)
    finally:
        browser.close()


def take_admin_screenshots(browser, base_url, out):
    browser.login(base_url, "admin", "admin")
    browser.goto(f"{base_url}/odoo/action-payment.action_payment_provider", settle=1)
    browser.wait_for(".o_kanban_record", timeout=300)  # the first visit builds the assets
    browser.click(".o_kanban_record", "Compago")
    time.sleep(2)
    browser.screenshot(out / "screenshot_provider.png")


def take_cashier_screenshots(browser, base_url, simulator_url, out):
    """A card payment on "Caja 1": waiting for the terminal, approved, and the receipt."""
    browser.login(base_url, "cashier", "cashier")
    browser.goto(f"{base_url}/pos/ui?config_id=1", settle=1)
    browser.wait_for(".open-register-btn, .product-screen", timeout=300)
    if browser.evaluate("!!document.querySelector('.open-register-btn')"):
        browser.click(".open-register-btn")
    time.sleep(3)
    if browser.evaluate("!!document.querySelector('.modal .opening-notes')"):
        browser.click(".modal-footer .btn-primary")  # the opening cash control
        time.sleep(2)
    browser.click("article.product .product-name", "Capuchino")
    browser.click("article.product .product-name", "Concha")
    browser.click(".product-screen .pay-order-button")
    browser.click(".paymentmethods .button.paymentmethod .payment-name", "Compago")
    browser.wait_for(".paymentline", timeout=30)
    time.sleep(2)
    browser.screenshot(out / "screenshot_cashier_waiting.png")
    approve_pending_intent(simulator_url)
    # The register validates the order by itself when "automatically validate" is on.
    browser.wait_for(".receipt-screen, .payment-screen .validation-button.highlight", timeout=30)
    if not browser.evaluate("!!document.querySelector('.receipt-screen')"):
        browser.click(".payment-screen .validation-button")
    browser.wait_for(".receipt-screen", timeout=30)
    time.sleep(2)
    browser.screenshot(out / "screenshot_cashier_receipt.png")


def approve_pending_intent(simulator_url):
    """Play the terminal: approve the newest pending intent on the simulator."""
    simulator = SimulatorClient(simulator_url)
    simulator.approve(simulator.pending_intents()[0]["id"])


def take_accountant_screenshots(browser, base_url, out):
    browser.login(base_url, "accountant", "accountant")
    browser.goto(f"{base_url}/odoo/compago-transactions", settle=1)
    browser.wait_for(".o_list_view .o_data_row", timeout=120)
    time.sleep(1)
    browser.screenshot(out / "screenshot_accountant_transactions.png")
    browser.click(".o_list_view .o_data_row td.o_data_cell")
    browser.wait_for(".o_form_view", timeout=30)
    time.sleep(1.5)
    browser.screenshot(out / "screenshot_accountant_transaction.png")


def take_kiosk_screenshots(browser, base_url, out):
    """The self-order kiosk of the demo (pos_self_order_compago) waiting for the card."""
    browser.login(base_url, "admin", "admin")
    route = browser.evaluate(
        """fetch('/web/dataset/call_kw/pos.config/search_read', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {
                model: 'pos.config', method: 'search_read',
                args: [[['self_ordering_mode', '=', 'kiosk']], ['id', 'access_token']],
                kwargs: {limit: 1}}})
        }).then(r => r.json()).then(({result: [kiosk]}) =>
            kiosk && `/pos-self/${kiosk.id}?access_token=${kiosk.access_token}`)"""
    )
    if not route:
        raise RuntimeError("the demo database has no kiosk (bash tools/demo.sh --reset)")
    browser.call("Network.clearBrowserCookies")  # the kiosk is public
    browser.goto(f"{base_url}{route}", settle=1)
    browser.wait_for(".o_pos_landing_footer a.btn", timeout=300)  # the first visit builds assets
    time.sleep(1)
    browser.tap(".o_pos_landing_footer a.btn")  # "Order Now"
    browser.tap(".o_self_product_box", "Capuchino")
    browser.tap(".o_self_product_box", "Concha")
    browser.tap(".page-buttons button.cart")  # Checkout
    browser.tap(".page-buttons button.cart")  # Pay
    browser.wait_for(".o_compago_kiosk_cancel", timeout=30)
    time.sleep(1.5)
    browser.screenshot(out / "screenshot_kiosk_waiting.png")
    browser.click(".o_compago_kiosk_cancel")  # leave no payment waiting on the terminal


if __name__ == "__main__":
    main()
