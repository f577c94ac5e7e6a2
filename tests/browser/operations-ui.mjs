// The operations pages in a real browser (Debian's headless Chromium, playwright-core): an
// operator builds a two-parcel shipment of a warehouse order (one to the company's default
// address with an automation step, one typed in), the simulated courier delivers the first,
// its page shows it on the timeline, and the operations page shows the automation step's
// retry. Run by the end-to-end suite (tests/e2e/operations.rs), which prepares the order and
// checks in D1 what the clicks did. Env: ADMIN_BASE, SIM_BASE, ADMIN_KEY, FO_ID, TAG,
// ARTIFACTS; CHROMIUM (default /usr/bin/chromium).
import { join } from "node:path";
import { env, fail, launch, reloadUntil, step, watchedPage } from "./lib.mjs";

const { ADMIN_BASE, SIM_BASE, ADMIN_KEY, FO_ID, TAG, ARTIFACTS } =
  env("ADMIN_BASE", "SIM_BASE", "ADMIN_KEY", "FO_ID", "TAG", "ARTIFACTS");

const browser = await launch();
const violations = [];
try {
  const { page } = await watchedPage(browser, violations);

  step("sign in");
  await page.goto(`${ADMIN_BASE}/admin/login`);
  await page.fill("#key", ADMIN_KEY);
  await Promise.all([page.waitForURL("**/admin/orders"), page.click("button[type=submit]")]);

  const fo = `${ADMIN_BASE}/admin/fulfillment-orders/${FO_ID}`;
  const first = `USUI${TAG}`;
  const second = `DHUI${TAG}`;
  step("build the first parcel: 2 units to the company's default address, USPS, with automation");
  await page.goto(fo);
  const builder = page.locator("#build-parcel");
  await builder.locator("input[type=number]").first().fill("2");
  await builder.locator("#parcel-courier").selectOption("usps");
  await builder.locator("#parcel-tracking").fill(first);
  await builder.locator("#parcel-scenario").selectOption("first_time_install");
  await Promise.all([page.waitForURL(/notice=/), builder.locator("button[type=submit]").click()]);
  await page.locator("p.notice", { hasText: "Parcel built" }).waitFor();

  step("build the second parcel: the rest to a dock typed in, DHL");
  await builder.locator("input[type=number]").first().fill("1");
  await builder.locator("#parcel-to").selectOption("typed");
  await builder.locator("#to-name").fill("Dock 4");
  await builder.locator("#to-line1").fill("1 Pier Rd");
  await builder.locator("#to-city").fill("Halifax");
  await builder.locator("#to-country").fill("CA");
  await builder.locator("#parcel-courier").selectOption("dhl");
  await builder.locator("#parcel-tracking").fill(second);
  await Promise.all([page.waitForURL(/notice=/), builder.locator("button[type=submit]").click()]);
  await page.locator("p.notice", { hasText: "Parcel built" }).waitFor();
  if ((await page.locator("table tbody tr", { hasText: /USUI|DHUI/ }).count()) !== 2) fail("two parcels listed");
  if (await page.locator("#build-parcel").count()) fail("nothing is left to ship, so no builder");
  await page.screenshot({ path: join(ARTIFACTS, "operations-parcels.png"), fullPage: true });

  step("USPS picks up the first parcel and delivers it (the simulator sends the signed webhooks)");
  for (const status of ["in_transit", "delivered"]) {
    const r = await fetch(`${SIM_BASE}/__control/couriers/usps/parcels/${first}/advance`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status, location: "Austin, TX" }),
    });
    if (!r.ok) fail(`advance ${status}: ${r.status}`);
  }
  await page.locator("a", { hasText: /^shp_/ }).first().click();
  await reloadUntil(page, page.locator("ol.timeline li", { hasText: "courier.delivered" }), "the courier's delivery on the timeline");
  await page.locator("ol.timeline li", { hasText: "shipment.delivered" }).waitFor();
  await page.locator("span.badge.delivered").first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "operations-parcel-timeline.png"), fullPage: true });

  step("the operations page shows the automation step retried");
  await page.goto(`${ADMIN_BASE}/admin/operations?queue=lading-fulfillment`);
  await reloadUntil(page, page.locator("#job-runs tr", { hasText: "automation" }).filter({ hasText: "2 / 9" }), "the automation run's second attempt");
  await page.locator("#queue-summary").waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "operations-job-runs.png"), fullPage: true });

  if (violations.length) fail(`console: ${violations.join(" | ")}`);
  step("done; screenshots in " + ARTIFACTS);
} finally {
  await browser.close();
}
