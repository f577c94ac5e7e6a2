// The admin web UI in a real browser: Debian's headless Chromium driven by playwright-core.
// Run by the end-to-end suite (tests/e2e/admin.rs), which prepares the store and checks in
// D1 what the clicks did (among them a net-terms order invoiced, its PDF opened and a partial
// payment recorded). Env: ADMIN_BASE, ADMIN_KEY, ORDER_EMAIL, ORDER_ID, B2B_VARIANT (a
// physical variant sold to a company), ARTIFACTS; CHROMIUM (default /usr/bin/chromium).
import { join } from "node:path";
import { env, fail, launch, reloadUntil, step, watchedPage } from "./lib.mjs";

const { ADMIN_BASE, ADMIN_KEY, ORDER_EMAIL, ORDER_ID, B2B_VARIANT, ARTIFACTS } =
  env("ADMIN_BASE", "ADMIN_KEY", "ORDER_EMAIL", "ORDER_ID", "B2B_VARIANT", "ARTIFACTS");

const browser = await launch();
const violations = [];
try {
  const { context, page } = await watchedPage(browser, violations);
  page.on("dialog", (d) => d.accept()); // the confirm() of app.js before a refund

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

  step("sell to a company: company, billing contact, address");
  await page.click("nav a[href='/admin/companies']");
  await page.waitForURL("**/admin/companies");
  await page.fill("#co-name", "Initech");
  await page.selectOption("#co-terms", "net_30");
  await Promise.all([page.waitForURL(/\/admin\/companies\/co_/), page.click("form.card[action='/admin/companies'] button[type=submit]")]);
  await page.fill("#ct-first", "Bill");
  await page.fill("#ct-last", "Lumbergh");
  await page.fill("#ct-email", "bill@initech.test");
  await page.check("input[name=roles][value=billing]");
  await page.check("input[name=primary]");
  await Promise.all([page.waitForURL(/notice=/), page.click("form[action$='/contacts'] button[type=submit]")]);
  await page.locator("p.notice", { hasText: "Contact added" }).waitFor();
  await page.fill("#ad-name", "Initech Receiving");
  await page.fill("#ad-line1", "4120 Freidrich Ln");
  await page.fill("#ad-city", "Austin");
  await page.fill("#ad-postal", "78744");
  await page.fill("#ad-country", "US");
  await page.check("input[name=default_for][value=shipping]");
  await page.check("input[name=default_for][value=billing]");
  await Promise.all([page.waitForURL(/notice=Address/), page.click("form[action$='/addresses'] button[type=submit]")]);
  await page.locator("td", { hasText: "4120 Freidrich Ln" }).waitFor();

  step("an agreement pricing the variant at 25.00, synced to Stripe through the queue");
  await page.fill("#ag-name", "Initech 2027 agreement");
  await page.selectOption("#ag-status", "active");
  await Promise.all([page.waitForURL(/\/admin\/agreements\/pa_/), page.click("form[action$='/agreements'] button[type=submit]")]);
  await page.selectOption("#en-variant", B2B_VARIANT);
  await page.fill("#en-amount", "25");
  await Promise.all([page.waitForURL(/notice=Price/), page.click("form[action$='/entries'] button[type=submit]")]);
  await reloadUntil(page, page.locator("span.badge.synced"), "the agreement price synced");
  await page.screenshot({ path: join(ARTIFACTS, "admin-agreement.png"), fullPage: true });

  step("draft an order of 4 and send checkout to the billing contact");
  await page.click("dd a[href^='/admin/companies/']");
  await page.waitForURL(/\/admin\/companies\/co_/);
  await page.selectOption("#dr-variant", B2B_VARIANT);
  await page.fill("#dr-qty", "4");
  await Promise.all([page.waitForURL(/\/admin\/draft-orders\//), page.click("form[action$='/draft-orders'] button[type=submit]")]);
  await page.locator("td", { hasText: "Initech 2027 agreement" }).waitFor();
  await page.locator("td.num", { hasText: "100.00 USD" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "admin-draft.png"), fullPage: true });
  await Promise.all([page.waitForURL(/\/admin\/orders\/.*notice=/), page.click("form[action$='/send-checkout'] button[type=submit]")]);
  const sent = await page.locator("p.notice").innerText();
  const checkoutUrl = (sent.match(/https?:\/\/\S+\/checkout\/\S+/) || fail(`no checkout link in: ${sent}`))[0];
  const b2bOrder = new URL(page.url()).pathname;

  step("pay on the simulator's hosted checkout page");
  // In a tab of its own: after paying, the page goes on to the store's success URL, which
  // no server answers here.
  const hosted = await context.newPage();
  await hosted.goto(checkoutUrl);
  await Promise.all([
    hosted.waitForResponse((r) => r.url().endsWith("/pay") && r.request().method() === "POST"),
    hosted.click("button:has-text('Pay')", { noWaitAfter: true }),
  ]);
  await hosted.close();
  await page.goto(`${ADMIN_BASE}${b2bOrder}`);
  await reloadUntil(page, page.locator("section.summary span.badge.paid"), "the company's order paid");
  await page.locator("td", { hasText: "Initech 2027 agreement" }).locator("span.badge.price_agreement").waitFor();
  await page.locator("dd", { hasText: "Bill Lumbergh <bill@initech.test>" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "admin-company-order.png"), fullPage: true });

  step("draft a net-terms order and invoice it: issued and fulfilled at once");
  await page.click("dd a[href^='/admin/companies/']");
  await page.waitForURL(/\/admin\/companies\/co_/);
  await page.selectOption("#dr-variant", B2B_VARIANT);
  await page.fill("#dr-qty", "2");
  await Promise.all([page.waitForURL(/\/admin\/draft-orders\//), page.click("form[action$='/draft-orders'] button[type=submit]")]);
  await Promise.all([page.waitForURL(/\/admin\/invoices\/inv_.*notice=/), page.click("form[action$='/invoice'] button[type=submit]")]);
  const invoiced = await page.locator("p.notice").innerText();
  if (!/invoiced as INV-\d{6}/.test(invoiced)) fail(`no invoice number in: ${invoiced}`);
  await page.locator("section.summary span.badge.issued").waitFor();
  const money = async (label) => {
    const text = await page.locator("section.summary dt", { hasText: new RegExp(`^${label}$`) }).locator("xpath=following-sibling::dd[1]").innerText();
    const m = text.match(/(-?\d+)\.(\d{2}) USD/) || fail(`no amount for ${label}: ${text}`);
    return Number(m[1]) * 100 + Number(m[2]);
  };
  const total = await money("Total");
  if (total < 5000) fail(`the invoice's total is ${total}`);

  step("open its PDF link");
  const pdfHref = await page.locator("a", { hasText: "Download PDF" }).getAttribute("href");
  const pdf = await page.request.get(`${ADMIN_BASE}${pdfHref}`);
  if (pdf.status() !== 200) fail(`the PDF link answered ${pdf.status()}`);
  if (!(pdf.headers()["content-type"] || "").startsWith("application/pdf")) fail(`the PDF link is ${pdf.headers()["content-type"]}`);
  const bytes = await pdf.body();
  if (bytes.subarray(0, 5).toString() !== "%PDF-") fail("the PDF link does not serve a PDF");

  step("record a partial bank transfer and see the balance");
  await page.selectOption("#ip-method", "bank_transfer");
  await page.fill("#ip-amount", "30");
  await page.fill("#ip-ref", "WIRE-INITECH-1");
  await Promise.all([page.waitForURL(/notice=/), page.click("form[action$='/payments'] button[type=submit]")]);
  await page.locator("p.notice", { hasText: "Payment applied" }).waitFor();
  await page.locator("section.summary span.badge.partially_paid").waitFor();
  const balance = await money("Balance");
  if (balance !== total - 3000) fail(`the balance is ${balance}, not ${total - 3000}`);
  await page.locator("td", { hasText: "WIRE-INITECH-1" }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "admin-invoice.png"), fullPage: true });

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
