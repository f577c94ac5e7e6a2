// What the browser scripts share: the environment they need, a step log, Debian's headless
// Chromium launched for a sandboxed machine, a page that records CSP violations and script
// errors, and a reload-until for what the Workers do in the background.
import { chromium } from "playwright-core";

export const fail = (m) => { throw new Error(m); };
export const step = (m) => console.log(`browser: ${m}`);

/// The named environment variables, each required.
export function env(...names) {
  const out = {};
  for (const k of names) out[k] = process.env[k] || fail(`${k} is not set`);
  return out;
}

/// Chromium as root in a sandboxed machine with no network beyond loopback.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/// A desktop-sized page whose CSP violations and script errors land in `violations`.
export async function watchedPage(browser, violations) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  page.on("pageerror", (e) => violations.push(String(e)));
  return { context, page };
}

/// Reloads the page until `locator` shows (something the Workers do in the background: a
/// price synced through the queue, a payment's webhook), or fails after `ms`.
export async function reloadUntil(page, locator, what, ms = 45000) {
  const deadline = Date.now() + ms;
  while (!(await locator.count())) {
    if (Date.now() > deadline) fail(`${what}: not seen within ${ms / 1000} s`);
    await page.waitForTimeout(500);
    await page.reload();
  }
}
