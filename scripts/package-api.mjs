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
  closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { deflateRawSync } from "node:zlib";
import { repoRoot } from "./local-tools.mjs";

const project = join(repoRoot, "src", "Tracker.Functions", "Tracker.Functions.csproj");

function main(args) {
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
  writeZip(options.out, entries);
  console.log(`package-api: ${entries.filter((e) => !e.directory).length} files from ${root} -> ${options.out}`);
}

// The same command as azd's own dotnet publish (and the tests' PublishFixture): the csproj carries the deployable shape.
function publish(output) {
  rmSync(output, { recursive: true, force: true });
  const result = spawnSync("dotnet", ["publish", project, "-c", "Release", "-o", output], {
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

// A plain zip (APPNOTE 6.3): one local header + data per entry, then the central directory. No ZIP64: the app is far
// below 65,535 entries and 4 GiB. Fixed timestamps keep the package byte-identical for identical input.
function writeZip(out, entries) {
  if (entries.length >= 0xffff) fail("too many files for a zip without ZIP64");
  const UTF8 = 0x0800;
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const central = [];
  const partial = `${out}.partial`;
  const fd = openSync(partial, "w");
  let offset = 0;
  const write = (buffer) => {
    for (let done = 0; done < buffer.length;) done += writeSync(fd, buffer, done);
    offset += buffer.length;
  };
  try {
    for (const entry of entries) {
      const name = Buffer.from(entry.name, "utf8");
      const data = entry.directory ? Buffer.alloc(0) : readFileSync(entry.path);
      const deflated = data.length > 0 ? deflateRawSync(data) : data;
      const method = deflated.length < data.length ? 8 : 0;
      const stored = method === 8 ? deflated : data;
      if (data.length >= 0xffffffff || offset >= 0xffffffff) fail("package too large for a zip without ZIP64");
      const crc = crc32(data);

      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
      local.writeUInt16LE(UTF8, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(DOS_TIME, 10);
      local.writeUInt16LE(DOS_DATE, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(stored.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);

      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix (3), spec 2.0: readers then apply the mode below
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(UTF8, 8);
      header.writeUInt16LE(method, 10);
      header.writeUInt16LE(DOS_TIME, 12);
      header.writeUInt16LE(DOS_DATE, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(stored.length, 20);
      header.writeUInt32LE(data.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE(((entry.mode << 16) | (entry.directory ? 0x10 : 0)) >>> 0, 38); // Unix mode, MS-DOS dir bit
      header.writeUInt32LE(offset, 42);
      central.push(Buffer.concat([header, name]));

      write(local);
      write(name);
      write(stored);
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    write(directory);
    write(end);
  } finally {
    closeSync(fd);
  }
  rmSync(out, { force: true });
  // Renamed only once complete, so azd never uploads a half-written package.
  renameSync(partial, out);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

// zlib.crc32 arrived in Node 20.15/22.2; package.json allows any Node 20.
function crc32(buffer) {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function fail(message) {
  console.error(`package-api: ${message}`);
  process.exit(1);
}

main(process.argv.slice(2));
