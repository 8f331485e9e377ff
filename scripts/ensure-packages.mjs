// What the tests need from Debian's packages, each installed with apt-get when missing (as root, or through sudo):
// - the browsers of the web UI's tests and bench (no browser is downloaded): Chromium, driven by playwright-core, and
//   Firefox ESR, driven by puppeteer-core over WebDriver BiDi (Playwright drives only its own patched Firefox);
// - the native toolchain of the published handler (Native AOT links with clang, against zlib): the .NET tests publish it.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const firefoxPath = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

function ensure(path, pkg, setting) {
  if (existsSync(path)) return path;
  console.log(`No ${path}: installing Debian's ${pkg} package...`);
  const root = process.getuid?.() === 0;
  const run = (args) => spawnSync(root ? args[0] : "sudo", root ? args.slice(1) : ["-n", ...args], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (run(["apt-get", "update", "-q"]).status !== 0 || run(["apt-get", "install", "-y", "-q", "--no-install-recommends", pkg]).status !== 0 || !existsSync(path)) {
    throw new Error(`Could not install ${pkg} with apt-get (set ${setting} to an installed one).`);
  }
  return path;
}

export const ensureChromium = () => ensure(chromiumPath, "chromium", "CHROMIUM_PATH");
export const ensureFirefox = () => ensure(firefoxPath, "firefox-esr", "FIREFOX_PATH");
export const ensureNativeToolchain = () => [ensure("/usr/bin/clang", "clang", "PATH"), ensure("/usr/include/zlib.h", "zlib1g-dev", "CPATH")];

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureChromium(), ensureFirefox(), ...ensureNativeToolchain());
