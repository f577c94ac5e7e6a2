// The admin web UI in a real browser: Debian's headless Chromium driven by playwright-core.
// Run by the end-to-end suite (tests/e2e/admin.rs), which prepares the store and checks in
// D1 what the clicks did. Env: ADMIN_BASE, ADMIN_KEY, ORDER_EMAIL, ORDER_ID, ARTIFACTS;
// CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { join } from "node:path";

const { ADMIN_BASE, ADMIN_KEY, ORDER_EMAIL, ORDER_ID, ARTIFACTS } = process.env;
for (const [k, v] of Object.entries({ ADMIN_BASE, ADMIN_KEY, ORDER_EMAIL, ORDER_ID, ARTIFACTS })) {
  if (!v) throw new Error(`${k} is not set`);
}
const step = (m) => console.log(`browser: ${m}`);
const fail = (m) => { throw new Error(m); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // As root in a sandboxed machine with no network beyond loopback.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
const violations = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("dialog", (d) => d.accept()); // the confirm() of app.js before a refund
  page.on("console", (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  page.on("pageerror", (e) => violations.push(String(e)));

  step("sign in");
  await page.goto(`${ADMIN_BASE}/admin/login`);
  await page.fill("#key", ADMIN_KEY);
  await Promise.all([page.waitForURL("**/admin/orders"), page.click("button[type=submit]")]);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "lading_admin") || fail(`no session cookie: ${JSON.stringify(cookies)}`);
  if (!session.httpOnly || session.sameSite !== "Strict") fail(`cookie flags: ${JSON.stringify(session)}`);
  if (await page.evaluate(() => document.cookie.includes("lading_admin"))) fail("the session cookie is readable by scripts");

  step(`find the order by email (${ORDER_EMAIL})`);
  await page.fill("input[name=q]", ORDER_EMAIL);
  await Promise.all([page.waitForURL(/q=/), page.click("form.filters button[type=submit]")]);
  await page.screenshot({ path: join(ARTIFACTS, "admin-orders.png"), fullPage: true });
  const link = page.locator(`a[href="/admin/orders/${ORDER_ID}"]`);
  if ((await link.count()) !== 1) fail(`order ${ORDER_ID} not found by its email`);
  await Promise.all([page.waitForURL(`**/admin/orders/${ORDER_ID}`), link.click()]);
  if ((await page.title()).includes("pwned")) fail("a product title ran as script");

  step("refund 12.34");
  await page.fill("#refund-amount", "12.34");
  await Promise.all([page.waitForURL(/notice=/), page.click("form[action$='/refund'] button[type=submit]")]);
  await page.locator("p.notice", { hasText: "Refund sent" }).waitFor();

  step("add tracking to the manual parcel");
  const tracking = page.locator("form[action$='/tracking']");
  await tracking.locator("input[name=carrier]").fill("DHL");
  await tracking.locator("input[name=tracking_number]").fill("UI-TRACK-0042");
  await tracking.locator("input[name=tracking_url]").fill("https://track.example/UI-TRACK-0042");
  await Promise.all([page.waitForURL(/notice=/), tracking.locator("button[type=submit]").click()]);
  await page.locator("p.notice", { hasText: "Tracking added" }).waitFor();
  await page.locator("a", { hasText: "UI-TRACK-0042" }).waitFor();

  step("add a note");
  await page.fill("#note", "<b>Called</b> the customer about the refund");
  await Promise.all([page.waitForURL(/notice=/), page.click("form[action$='/notes'] button[type=submit]")]);
  await page.locator("p.note", { hasText: "<b>Called</b> the customer" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "admin-order.png"), fullPage: true });

  step("retry the failed fulfillment from the dashboard");
  await page.click("nav a[href='/admin/fulfillment']");
  await page.waitForURL("**/admin/fulfillment");
  const retry = page.locator("tr", { hasText: "prodigi" }).locator("form[action$='/retry'] button");
  if ((await retry.count()) < 1) fail("no failed Prodigi order to retry");
  await page.locator("td.error-text", { hasText: "postalOrZipCode" }).first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "admin-fulfillment.png"), fullPage: true });
  await Promise.all([page.waitForURL(/notice=/), retry.first().click()]);
  await page.locator("p.notice", { hasText: "Queued for another attempt" }).waitFor();

  step("the order page on a phone");
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.addCookies([{ ...session }]);
  const small = await phone.newPage();
  await small.goto(`${ADMIN_BASE}/admin/orders/${ORDER_ID}`);
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 2) fail(`the page is ${overflow}px wider than the phone`);
  await small.screenshot({ path: join(ARTIFACTS, "admin-order-phone.png"), fullPage: true });

  if (violations.length) fail(`console errors / CSP violations: ${violations.join(" | ")}`);
  step(`done; screenshots in ${ARTIFACTS}`);
} finally {
  await browser.close();
}
