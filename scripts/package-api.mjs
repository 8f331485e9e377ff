// The api service's packaging step, run by azd as azure.yaml's prepackage hook (and by the tests): publishes
// src/Tracker.Functions and writes the deployment zip azd then uploads unchanged.
//
// Why not let azd zip the publish folder: the custom handler (host.json's defaultExecutablePath) must be executable in
// the package, because Flex Consumption runs the app from a read-only wwwroot where the host cannot chmod it. azd
// before 1.26.0 writes zip entries with no Unix mode at all, and on Windows the published folder has no execute bit
// to carry, whatever the azd version. So this script writes the zip itself: every entry "made by Unix" with an
// explicit mode (0755 for the handler and other executables, 0644 otherwise), which unzippers and fuse-zip honour.
// azd deploys it as-is because the service is `language: custom` with `dist` naming a .zip (azd's custom framework
// service hands `dist` on as the package, and its function-app target skips compressing a path ending in .zip:
// cli/azd/pkg/project/framework_service_custom.go and service_target_functionapp.go in Azure/azure-dev).
//
//   node scripts/package-api.mjs                        publish, then zip to publish/azd/api.zip (what azd deploys)
//   node scripts/package-api.mjs --from DIR --out ZIP   zip an existing publish folder
import { spawnSync } from "node:child_process";
import {
  closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { ensureNodeModules, repoRoot } from "./local-tools.mjs";

ensureNodeModules();
const { ZipFile } = await import("yazl");

const project = join(repoRoot, "src", "Tracker.Functions", "Tracker.Functions.csproj");

async function main(args) {
  const options = { out: join(repoRoot, "publish", "azd", "api.zip") };
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] !== "--from" && args[i] !== "--out" || args[i + 1] === undefined) {
      fail(`usage: node scripts/package-api.mjs [--from <publish folder>] [--out <zip>] (got ${args.join(" ")})`);
    }
    options[args[i].slice(2)] = resolve(args[i + 1]);
  }
  const root = options.from ?? publish(join(dirname(options.out), "api"));
  const entries = collect(root);
  mkdirSync(dirname(options.out), { recursive: true });
  await writeZip(options.out, entries);
  console.log(`package-api: ${entries.filter((e) => !e.directory).length} files from ${root} -> ${options.out}`);
}

// The same command as azd's own dotnet publish (and the tests' PublishFixture): the csproj carries the deployable shape,
// native (AOT). Native AOT cannot cross-compile to another OS or architecture and links with clang, so on any other
// machine than Linux x64 with clang the publish is ReadyToRun (JIT) instead: it runs the same, and its cold starts take
// about 0.4 s longer (bench/README.md, "Native AOT").
function publish(output) {
  rmSync(output, { recursive: true, force: true });
  const native = process.platform === "linux" && process.arch === "x64" && spawnSync("clang", ["--version"]).status === 0;
  if (!native) {
    console.warn("package-api: Native AOT needs Linux x64 with clang (Debian/Ubuntu: apt-get install clang zlib1g-dev); " +
      "publishing ReadyToRun instead, whose cold starts are slower.");
  }
  const result = spawnSync("dotnet", ["publish", project, "-c", "Release", "-o", output, ...(native ? [] : ["-p:PublishAot=false"])], {
    stdio: "inherit",
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" },
  });
  if (result.status !== 0) fail(`dotnet publish failed (exit ${result.status ?? result.error})`);
  return output;
}

// Every file and folder under root, sorted, refusing a folder the Functions host could not start from.
function collect(root) {
  const hostJson = join(root, "host.json");
  if (!existsSync(hostJson)) fail(`${root} has no host.json at its root`);
  const handler = JSON.parse(readFileSync(hostJson, "utf8"))?.customHandler?.description?.defaultExecutablePath;
  if (typeof handler !== "string" || handler === "") fail(`${hostJson} names no customHandler.description.defaultExecutablePath`);
  const handlerPath = resolve(root, handler);
  if (!existsSync(handlerPath) || !statSync(handlerPath).isFile()) {
    fail(`the handler ${handler} that host.json names is not in ${root}`);
  }
  const functions = readdirSync(root, { withFileTypes: true }).filter(
    (entry) => entry.isDirectory() && existsSync(join(root, entry.name, "function.json")));
  if (functions.length === 0) fail(`${root} has no <function>/function.json folder`);

  const entries = [];
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, entry.name);
      const name = relative(root, path).split(sep).join("/");
      if (entry.isDirectory()) {
        entries.push({ name: `${name}/`, directory: true, mode: 0o040755 });
        walk(path);
      } else if (entry.isFile()) {
        const executable = path === handlerPath || isExecutable(path);
        entries.push({ name, path, directory: false, mode: executable ? 0o100755 : 0o100644 });
      } else {
        fail(`${path} is neither a file nor a folder`);
      }
    }
  };
  walk(root);
  return entries;
}

// An execute bit on disk (a Linux or macOS publish), or an ELF program that is not a shared library (a Windows
// publish of the linux-x64 app, where no file has a mode; e.g. createdump).
function isExecutable(path) {
  if (process.platform !== "win32" && (statSync(path).mode & 0o111) !== 0) return true;
  if (/\.so(\.|$)/.test(path)) return false;
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

// yazl writes every entry "made by Unix" with the mode given here, which unzippers and fuse-zip apply. A fixed mtime
// keeps the package byte-identical for identical input. Renamed into place only once complete, so azd never uploads
// a half-written package.
function writeZip(out, entries) {
  const zip = new ZipFile();
  const mtime = new Date(Date.UTC(1980, 0, 1));
  for (const entry of entries) {
    if (entry.directory) zip.addEmptyDirectory(entry.name, { mode: entry.mode, mtime });
    else zip.addFile(entry.path, entry.name, { mode: entry.mode, mtime });
  }
  zip.end();
  const partial = `${out}.partial`;
  return new Promise((done, failed) => {
    zip.outputStream.pipe(createWriteStream(partial)).on("error", failed).on("close", () => {
      rmSync(out, { force: true });
      renameSync(partial, out);
      done();
    });
  });
}

function fail(message) {
  console.error(`package-api: ${message}`);
  process.exit(1);
}

await main(process.argv.slice(2));
