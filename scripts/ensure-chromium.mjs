// The browser tests and the UI bench drive Debian's Chromium (package `chromium`) through playwright-core; no browser
// is downloaded. This installs the package when it is missing (as root, or through sudo) and prints its path.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function ensureChromium() {
  if (existsSync(chromiumPath)) return chromiumPath;
  console.log(`No Chromium at ${chromiumPath}: installing Debian's chromium package...`);
  const root = process.getuid?.() === 0;
  const run = (args) => spawnSync(root ? args[0] : "sudo", root ? args.slice(1) : ["-n", ...args], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (run(["apt-get", "update", "-q"]).status !== 0 || run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]).status !== 0 || !existsSync(chromiumPath)) {
    throw new Error(`Could not install Chromium with apt-get (set CHROMIUM_PATH to an installed Chromium).`);
  }
  return chromiumPath;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureChromium());
