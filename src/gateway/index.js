// Local-stack gateway (development and tests only; never deployed).
//
// `wrangler dev` with several configs exposes only the first Worker on a port; this one
// forwards to the five Lading Workers through service bindings, so each Worker gets a base
// URL on one port:
//
//   /_/<worker>/<path>           -> <worker> sees /<path>   (storefront, admin, webhooks,
//                                                            fulfillment, scheduler)
//   /_/scheduler/__cron?cron=... -> runs the scheduler's cron handler for that expression
//   /v1/*, /admin/*, /webhooks/* -> storefront, admin, webhooks (their public paths)
const WORKERS = {
  storefront: "STOREFRONT",
  admin: "ADMIN",
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

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    let binding;
    let path = url.pathname;
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
