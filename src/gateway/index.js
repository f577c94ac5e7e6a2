// Local-stack gateway (development and tests only; never deployed).
//
// `wrangler dev` with several configs exposes only the first Worker on a port; this one
// forwards to the seven Lading Workers through service bindings, so each Worker gets a base
// URL on one port:
//
//   /_/<worker>/<path>           -> <worker> sees /<path>   (storefront, admin, webhooks,
//                                                            fulfillment, scheduler)
//   /_/scheduler/__cron?cron=... -> runs the scheduler's cron handler for that expression
//   /v1/*, /admin/*, /webhooks/* -> storefront, admin, webhooks (their public paths)
//   /demo/checkout/success, /demo/cart -> the demo store's Checkout return pages
//   PUT|GET /_/r2/<key>          -> the shared R2 bucket itself (test fixtures, demo files,
//                                   and the benchmark's "straight from R2" baseline)
const WORKERS = {
  storefront: "STOREFRONT",
  admin: "ADMIN",
  sales: "SALES",
  operations: "OPERATIONS",
  webhooks: "WEBHOOKS",
  fulfillment: "FULFILLMENT",
  scheduler: "SCHEDULER",
};

function problem(status, type, detail) {
  return Response.json(
    { type, title: type.replace(/_/g, " "), status, detail },
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

// Where Stripe Checkout sends the shopper back on the local stack (a storefront's pages in
// production). Only text from the query string, escaped.
function demoPage(path, params) {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const order = esc(params.get("order"));
  const body =
    path === "/demo/checkout/success"
      ? `<h1>Thank you</h1><p>Order <strong>${order}</strong> is paid once Stripe's event arrives (seconds).</p>`
      : `<h1>Checkout cancelled</h1><p>Order <strong>${order}</strong> stays unpaid; the cart is still yours.</p>`;
  return new Response(`<!doctype html><meta charset=utf-8><title>Lading demo</title>${body}`, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

async function bucket(request, env, key) {
  if (request.method === "PUT") {
    const contentType = request.headers.get("content-type") || "application/octet-stream";
    const object = await env.FILES.put(key, request.body, { httpMetadata: { contentType } });
    return Response.json({ key, size: object.size }, { status: 201 });
  }
  const object = await env.FILES.get(key);
  if (!object) return problem(404, "file_not_found", `No object ${key}.`);
  return new Response(object.body, { headers: { "content-length": String(object.size) } });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    let binding;
    let path = url.pathname;
    const r2 = path.match(/^\/_\/r2\/(.+)$/);
    if (r2) return bucket(request, env, decodeURIComponent(r2[1]));
    const m = path.match(/^\/_\/([a-z]+)(\/.*)?$/);
    if (m) {
      binding = WORKERS[m[1]];
      path = m[2] || "/";
      if (!binding) return problem(404, "unknown_worker", `No Worker named ${m[1]}.`);
      if (m[1] === "scheduler" && path === "/__cron") {
        const cron = url.searchParams.get("cron");
        if (!cron) return problem(400, "cron_missing", "Pass ?cron=<expression>.");
        const result = await env.SCHEDULER.scheduled({ cron, scheduledTime: new Date() });
        const outcome = result?.outcome ?? "ok";
        return Response.json({ cron, outcome }, { status: outcome === "ok" ? 200 : 500 });
      }
    } else if (path.startsWith("/v1/")) {
      binding = "STOREFRONT";
    } else if (path === "/admin" || path.startsWith("/admin/")) {
      binding = "ADMIN";
    } else if (path.startsWith("/webhooks/")) {
      binding = "WEBHOOKS";
    } else if (path === "/demo/checkout/success" || path === "/demo/cart") {
      return demoPage(path, url.searchParams);
    } else if (path === "/" || path === "") {
      return Response.json({
        workers: Object.fromEntries(Object.keys(WORKERS).map((w) => [w, `${url.origin}/_/${w}`])),
      });
    } else {
      return problem(404, "route_not_found", "Use /_/<worker>/<path>, /v1/..., /admin/... or /webhooks/....");
    }
    const target = new URL(url);
    target.pathname = path;
    return env[binding].fetch(new Request(target, request));
  },
};
