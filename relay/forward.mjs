// Forward the smee.io channel to the deploy webhook with the pinned smee-client library.
// Unlike the `smee` command, it never logs the channel URL (anyone holding it can read and inject events),
// gives up when it cannot connect or hears nothing for a while, and exits after RELAY_MAX_SECONDS:
// the supervisor restarts it, which works around clients that silently stop delivering (smee-client#172).
import SmeeClient from "smee-client";

const source = process.env.SMEE_URL ?? "";
const target = process.env.RELAY_TARGET ?? "";
const idleSeconds = Number(process.env.RELAY_IDLE_SECONDS ?? "300");
const maxSeconds = Number(process.env.RELAY_MAX_SECONDS ?? "21600");

const redact = (value) => String(value?.stack ?? value).split(source).join("<smee channel>");
const log = (level, ...args) => console[level === "error" ? "error" : "log"](
  `${new Date().toISOString()} level=${level} ${args.map(redact).join(" ")}`);
const logger = { info: (...a) => log("info", ...a), error: (...a) => log("error", ...a) };

for (const [name, value] of [["SMEE_URL", source], ["RELAY_TARGET", target]]) {
  if (!/^https?:\/\/[^/]/.test(value)) {
    log("error", `${name} must be an http(s) URL`);
    process.exit(2);
  }
}

let lastSeen = Date.now();
const client = new SmeeClient({ source, target, logger, maxConnectionTimeout: 30000 });
try {
  const events = await client.start();
  for (const name of ["message", "ping", "ready"]) {
    events.addEventListener(name, () => { lastSeen = Date.now(); });
  }
  log("info", `event=relay_connected target=${target}`);
} catch (error) {
  log("error", "event=relay_connect_failed", error);
  process.exit(1);
}

const started = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - lastSeen > idleSeconds * 1000) {
    log("error", `event=relay_idle seconds=${idleSeconds}; exiting so the supervisor reconnects`);
    process.exit(1);
  }
  if (now - started > maxSeconds * 1000) {
    log("info", `event=relay_recycle seconds=${maxSeconds}`);
    process.exit(0);
  }
}, 5000).unref?.();
// Keep the process alive while the EventSource is open.
setInterval(() => {}, 1 << 30);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, async () => { await client.stop(); process.exit(0); });
}
