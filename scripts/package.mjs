// `npm run package`: the installable .vsix for this machine's platform, built and checked.
//
// 1. The target (linux-x64, darwin-arm64, win32-x64, alpine-x64, …) is this machine's: the trainer decodes
//    images with sharp, a native module, so the .vsix carries sharp's binaries for one platform and says so
//    (vsce --target); VS Code installs it only where it runs.
// 2. media/icon.png (128×128) is rendered from media/fine-tune.svg with sharp when it is missing.
// 3. Everything happens in a staging copy (node_modules/.cache/fine-tune-package/): the sources, and of
//    node_modules only sharp and what it needs at run time. There vsce runs `vscode:prepublish` — the
//    production build (minified bundles of host, trainer, CLI, webviews; the wasm binaries) — and packs.
//    Your dist/ is left alone, and no other build running meanwhile can slip into the archive. Packages are
//    still resolved from the repo's node_modules (the staging folder sits inside it).
// 4. The archive is read back and checked: the files the extension needs at run time are in it (sharp and
//    its dependencies included, Dawn's dawn.node for this platform), nothing that must not be (sources,
//    tests, maps, TensorFlow.js packages — those are bundled —, other platforms' dawn.node), it is at most
//    40 MB, and its size and largest parts are printed.
//
// Options: --target <vsce target> (needs sharp's packages for it installed), --out <file.vsix>, --icon
// (re-render the icon).
import { createVSIX } from '@vscode/vsce';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';

const root = dirname(dirname(new URL(import.meta.url).pathname));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/** vsce's name for this machine's platform; Alpine (musl) Linux is its own target. */
function hostTarget() {
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
  const os = process.platform === 'linux' && !glibc ? 'alpine' : process.platform;
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  return `${os}-${arch}`;
}

/** sharp's package suffix for a vsce target (sharp calls musl "linuxmusl", 32-bit ARM "arm"). */
function sharpPlatform(target) {
  const [os, arch] = target.split('-');
  return `${os === 'alpine' ? 'linuxmusl' : os}-${arch === 'armhf' ? 'arm' : arch}`;
}

async function makeIcon(file) {
  // The activity-bar glyph (stroke = currentColor) in white on a rounded tile, so it reads on the
  // Marketplace's light and dark backgrounds alike.
  const glyph = readFileSync(join(root, 'media/fine-tune.svg'), 'utf8')
    .replace(/<\?xml[^>]*>/, '')
    .replace(/currentColor/g, '#ffffff')
    .replace(
      /<svg\b[^>]*>/,
      '<svg x="20" y="20" width="88" height="88" viewBox="0 0 24 24" fill="none" stroke="#ffffff" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">',
    );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
  <defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
    <stop offset="0" stop-color="#3b82c4"/><stop offset="1" stop-color="#1f4f8f"/></linearGradient></defs>
  <rect width="128" height="128" rx="24" fill="url(#bg)"/>
  ${glyph}
</svg>`;
  await sharp(Buffer.from(svg)).resize(128, 128).png({ compressionLevel: 9 }).toFile(file);
}

/** Entries of a zip archive (name, uncompressed size), from its central directory. */
function zipEntries(file) {
  const zip = readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip archive`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const compressed = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.push({ name, size, compressed });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The folder of Dawn's prebuilt dawn.node (npm `webgpu`) for a vsce target, or undefined where the
 * package has none (Alpine's musl, 32-bit ARM): there the webgpu backend says it is not available.
 */
function dawnPlatform(target) {
  const [os, arch] = target.split('-');
  if (os === 'darwin') return 'darwin-universal';
  if ((os === 'linux' || os === 'win32') && (arch === 'x64' || arch === 'arm64')) return `${os}-${arch}`;
  return undefined;
}

const target = option('--target') ?? hostTarget();
const platform = sharpPlatform(target);
const dawn = dawnPlatform(target);
const sharpPackages = [
  `@img/sharp-${platform}`,
  ...(target.startsWith('win32') ? [] : [`@img/sharp-libvips-${platform}`]),
];
for (const pkg of sharpPackages) {
  if (!existsSync(join(root, 'node_modules', pkg, 'package.json'))) {
    console.error(
      `package: ${pkg} is not installed, so a ${target} .vsix would have no image decoder. ` +
        `Install it (npm install --os=${platform.split('-')[0].replace('linuxmusl', 'linux')} --cpu=${platform.split('-')[1]} sharp) or package on a ${target} machine.`,
    );
    process.exit(1);
  }
}

const icon = join(root, manifest.icon);
if (!existsSync(icon) || args.includes('--icon')) {
  await makeIcon(icon);
  console.log(`package: rendered ${manifest.icon} from media/fine-tune.svg`);
}

const out = resolve(option('--out') ?? join(root, `${manifest.name}-${target}-${manifest.version}.vsix`));
const started = Date.now();
mkdirSync(dirname(out), { recursive: true }); // vsce does not create the folder of --out

/** sharp and its dependencies (recursively), with the platform packages of the target. */
const runtimePackages = new Set();
const addPackage = (name) => {
  if (runtimePackages.has(name)) return;
  runtimePackages.add(name);
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) addPackage(dep);
};
addPackage('sharp');
for (const pkg of sharpPackages) addPackage(pkg);

const stagePath = join(root, 'node_modules', '.cache', 'fine-tune-package');
rmSync(stagePath, { recursive: true, force: true });
mkdirSync(stagePath, { recursive: true });
// The real path: vsce relates the paths npm reports (real ones) to its cwd, so a symlinked node_modules
// must not be part of it.
const stage = realpathSync(stagePath);
for (const entry of [
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  '.vscodeignore',
  'tsconfig.json',
  'src',
  'webview',
  'scripts/build.mjs',
  'scripts/assembleWat.mjs',
  'scripts/precompileValidators.mjs',
  'scripts/bundleBoundaries.mjs',
  'media',
  'bin',
]) {
  cpSync(join(root, entry), join(stage, entry), { recursive: true });
}
for (const name of runtimePackages)
  cpSync(join(root, 'node_modules', name), join(stage, 'node_modules', name), { recursive: true });
// Dawn's Node bindings: the npm package holds dawn.node for five platforms (132 MB); the .vsix carries
// only its own platform's (about 21 MB, 7 MB compressed) and the loader script. Its dependencies (`debug`
// for the install script, `@webgpu/types`) are not needed at run time: staged only so that vsce's
// `npm list` finds the tree complete, and left out of the archive by .vscodeignore.
const webgpuDir = join(root, 'node_modules', 'webgpu');
for (const file of ['package.json', 'index.js', 'LICENSE.md'])
  cpSync(join(webgpuDir, file), join(stage, 'node_modules', 'webgpu', file));
if (existsSync(join(webgpuDir, 'node_modules')))
  cpSync(join(webgpuDir, 'node_modules'), join(stage, 'node_modules', 'webgpu', 'node_modules'), {
    recursive: true,
  });
const stageDependencies = (dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (existsSync(join(dir, 'node_modules', dep)) || existsSync(join(stage, 'node_modules', dep))) continue;
    cpSync(join(root, 'node_modules', dep), join(stage, 'node_modules', dep), { recursive: true });
    stageDependencies(join(root, 'node_modules', dep));
  }
};
stageDependencies(webgpuDir);
if (dawn) {
  cpSync(join(webgpuDir, 'dist', dawn), join(stage, 'node_modules', 'webgpu', 'dist', dawn), {
    recursive: true,
  });
}

try {
  await createVSIX({
    cwd: stage,
    packagePath: out,
    target,
    dependencies: true,
    // No public repository yet: vsce otherwise refuses to package (links in README.md are absolute or code).
    allowMissingRepository: true,
  });
} finally {
  rmSync(stage, { recursive: true, force: true });
}

const entries = zipEntries(out);
const names = entries.map((e) => e.name);
const has = (pattern) => names.some((n) => pattern.test(n));
const required = [
  /^extension\/dist\/extension\.js$/,
  /^extension\/dist\/trainer\.js$/,
  /^extension\/dist\/cli\.js$/,
  /^extension\/dist\/wasm\/tfjs-backend-wasm\.wasm$/,
  /^extension\/dist\/wasm\/tfjs-backend-wasm-threaded-simd\.wasm$/,
  /^extension\/dist\/kernelWorker\.js$/,
  /^extension\/dist\/webview\/training\.js$/,
  /^extension\/dist\/webview\/experiment\.js$/,
  /^extension\/dist\/webview\/codicon\.ttf$/,
  /^extension\/schemas\/finetune\.schema\.json$/,
  /^extension\/schemas\/sweep\.schema\.json$/,
  /^extension\/media\/fine-tune\.svg$/,
  /^extension\/node_modules\/sharp\/lib\/index\.js$/,
  new RegExp(`^extension/node_modules/@img/sharp-${platform}/lib/sharp-${platform}\\.node$`),
  /^extension\/(LICENSE|LICENSE\.txt)$/,
  /^extension\/(readme|README)\.md$/,
  /^extension\/(changelog|CHANGELOG)\.md$/,
];
if (dawn) required.push(new RegExp(`^extension/node_modules/webgpu/dist/${dawn}/dawn\\.node$`));
required.push(/^extension\/node_modules\/webgpu\/index\.js$/);
const forbidden = [
  /^extension\/node_modules\/@tensorflow\//,
  // Only this platform's Dawn.
  new RegExp(`^extension/node_modules/webgpu/dist/(?!${dawn ?? 'none'}/)`),
  /^extension\/node_modules\/(debug|ms|@webgpu)\//,
  /^extension\/(src|test|out|scripts|samples|webview|scratch)\//,
  /\.map$/,
  /^extension\/(?!node_modules\/).*\.ts$/,
];
for (const name of runtimePackages)
  required.push(
    new RegExp(`^extension/node_modules/${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/package\\.json$`),
  );
const missing = required.filter((p) => !has(p));
const unwanted = names.filter((n) => forbidden.some((p) => p.test(n)));
const bytes = statSync(out).size;
const MAX_VSIX_BYTES = 40e6;
const bySize = new Map();
for (const e of entries) {
  const top = e.name
    .split('/')
    .slice(0, e.name.startsWith('extension/node_modules/@') ? 4 : 3)
    .join('/');
  bySize.set(top, (bySize.get(top) ?? 0) + e.compressed);
}
console.log(
  `package: ${out}\n  ${(bytes / 1e6).toFixed(1)} MB, ${entries.length} files, target ${target}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
for (const [top, size] of [...bySize].sort((a, b) => b[1] - a[1]).slice(0, 12))
  console.log(`  ${(size / 1e6).toFixed(2).padStart(6)} MB  ${top}`);
if (missing.length > 0 || unwanted.length > 0 || bytes > MAX_VSIX_BYTES) {
  if (missing.length) console.error(`package: missing from the .vsix: ${missing.map(String).join(', ')}`);
  if (unwanted.length)
    console.error(`package: must not be in the .vsix: ${unwanted.slice(0, 10).join(', ')}`);
  if (bytes > MAX_VSIX_BYTES)
    console.error(
      `package: the .vsix is ${(bytes / 1e6).toFixed(1)} MB, over the ${MAX_VSIX_BYTES / 1e6} MB limit`,
    );
  process.exit(1);
}
