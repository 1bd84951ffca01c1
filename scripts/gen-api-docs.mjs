#!/usr/bin/env node
// Writes docs/api/<package>.md from the TSDoc of each package's public exports, with the
// TypeScript compiler API (no typedoc): every name `src/index.ts` exports, its declaration
// as written (bodies left out), and its doc comment. Run: node scripts/gen-api-docs.mjs
// (`--check` exits 1 when a file would change, for CI, or when an export, or a public member of an
// exported class or interface, has no doc comment: its summary would be empty on the API page and
// in the editor's hover.)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const packages = ["core", "driver-kernel", "driver-wasm-sim", "testkit", "cli"];
const outDir = join(root, "docs", "api");
mkdirSync(outDir, { recursive: true });

const kindOrder = ["function", "class", "interface", "type", "const", "enum", "namespace"];
let stale = 0;
/** `file:line: name` of every export and public member without a doc comment. */
const undocumented = [];

for (const pkg of packages) {
  const entry = join(root, "packages", pkg, "src", "index.ts");
  if (!existsSync(entry)) continue;
  const manifest = JSON.parse(readFileSync(join(root, "packages", pkg, "package.json"), "utf8"));
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, skipLibCheck: true, noEmit: true, lib: ["lib.es2023.d.ts", "lib.dom.d.ts"], types: ["node"],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) continue;
  const entries = [];
  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decls = sym.getDeclarations() ?? [];
    if (decls.length === 0) continue;
    const decl = decls[0];
    const file = decl.getSourceFile();
    if (file.isDeclarationFile) continue; // re-exports of dependencies
    const members = membersOf(decl, checker);
    const where = (node) => `${relative(root, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
    const doc = docOf(sym, checker);
    if (firstSentence(doc) === "") undocumented.push(`${where(decl)}: ${exp.getName()}`);
    for (const m of members) if (m.doc === "") undocumented.push(`${where(m.node)}: ${exp.getName()}.${m.name}`);
    if (ts.isInterfaceDeclaration(decl)) {
      for (const m of interfaceMembersOf(decl, checker)) undocumented.push(`${where(m.node)}: ${exp.getName()}.${m.name}`);
    }
    entries.push({
      name: exp.getName(),
      kind: kindOf(decl),
      file: relative(root, file.fileName),
      doc,
      // Overloads: every declaration without a body, else the one implementation.
      signature: (decls.length > 1 ? decls.filter((d) => !ts.isFunctionDeclaration(d) || d.body === undefined) : decls)
        .map((d) => signatureOf(d)).filter(Boolean).join("\n"),
      members,
    });
  }
  entries.sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || a.name.localeCompare(b.name));
  const text = render(manifest, pkg, entries);
  const out = join(outDir, `${pkg}.md`);
  const old = existsSync(out) ? readFileSync(out, "utf8") : "";
  if (old !== text) {
    stale++;
    if (!check) writeFileSync(out, text);
  }
  process.stderr.write(`gen-api-docs: ${relative(root, out)}: ${entries.length} exports${old === text ? " (unchanged)" : ""}\n`);
}
writeIndex();
await writeCliReference();
for (const u of undocumented) process.stderr.write(`gen-api-docs: ${u} has no doc comment (no summary)\n`);
if (check && stale > 0) process.stderr.write(`gen-api-docs: ${stale} file(s) out of date; run node scripts/gen-api-docs.mjs\n`);
if (check && (stale > 0 || undocumented.length > 0)) process.exit(1);

function kindOf(d) {
  if (ts.isFunctionDeclaration(d)) return "function";
  if (ts.isClassDeclaration(d)) return "class";
  if (ts.isInterfaceDeclaration(d)) return "interface";
  if (ts.isTypeAliasDeclaration(d)) return "type";
  if (ts.isEnumDeclaration(d)) return "enum";
  if (ts.isModuleDeclaration(d)) return "namespace";
  return "const";
}

function docOf(sym, checker) {
  const text = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
  const tags = sym.getJsDocTags(checker).map((t) => `@${t.name}${t.text ? " " + ts.displayPartsToString(t.text) : ""}`);
  return [text, ...tags].filter(Boolean).join("\n\n");
}

/** The declaration as written, without bodies or initialisers that run long. */
function signatureOf(d) {
  const sf = d.getSourceFile();
  if (ts.isFunctionDeclaration(d)) {
    const end = d.body ? d.body.getStart(sf) : d.getEnd();
    return sf.text.slice(d.getStart(sf), end).trim().replace(/\s*\{?$/, "") + ";";
  }
  if (ts.isClassDeclaration(d)) {
    const heritage = d.heritageClauses ? " " + d.heritageClauses.map((h) => h.getText(sf)).join(" ") : "";
    return `class ${d.name?.getText(sf) ?? ""}${d.typeParameters ? `<${d.typeParameters.map((t) => t.getText(sf)).join(", ")}>` : ""}${heritage}`;
  }
  if (ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d) || ts.isEnumDeclaration(d)) {
    const t = d.getText(sf);
    return t.length > 4000 ? t.slice(0, 4000) + "\n  // …" : t;
  }
  if (ts.isVariableDeclaration(d)) {
    const list = d.parent;
    const kw = list && (list.flags & ts.NodeFlags.Const) ? "const" : "let";
    if (d.type) return `${kw} ${d.name.getText(sf)}: ${d.type.getText(sf)}`;
    const init = d.initializer?.getText(sf) ?? "";
    return `${kw} ${d.name.getText(sf)}${init.length <= 300 ? ` = ${init}` : ": " + "/* see source */"}`;
  }
  return d.getText(sf).split("\n")[0];
}

/** Public methods and properties of a class, with their docs. */
function membersOf(d, checker) {
  if (!ts.isClassDeclaration(d)) return [];
  const sf = d.getSourceFile();
  const out = [];
  let prev;
  for (const m of d.members) {
    const overloaded = prev !== undefined && ts.isMethodDeclaration(prev) && !prev.body &&
      prev.name.getText(sf) === m.name?.getText(sf);
    prev = m;
    // An overloaded method's implementation signature is not callable: only its overloads are.
    if (overloaded && ts.isMethodDeclaration(m) && m.body) continue;
    const mods = ts.canHaveModifiers(m) ? ts.getModifiers(m) ?? [] : [];
    if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
    if (m.name && ts.isPrivateIdentifier(m.name)) continue;
    if (!(ts.isMethodDeclaration(m) || ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m) || ts.isConstructorDeclaration(m))) continue;
    let sig;
    if ((ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m) || ts.isGetAccessorDeclaration(m)) && m.body) {
      sig = sf.text.slice(m.getStart(sf), m.body.getStart(sf)).trim();
    } else {
      sig = m.getText(sf).replace(/\s*=[\s\S]*$/, "").replace(/;$/, "");
    }
    const sym = m.name ? checker.getSymbolAtLocation(m.name) : undefined;
    // A constructor has no name: its doc comment belongs to its signature.
    const parts = sym ? sym.getDocumentationComment(checker)
      : ts.isConstructorDeclaration(m) ? checker.getSignatureFromDeclaration(m)?.getDocumentationComment(checker) ?? [] : [];
    const doc = ts.displayPartsToString(parts).trim();
    out.push({ sig: sig.replace(/\s+/g, " "), doc, name: m.name ? m.name.getText(sf) : "constructor", node: m });
  }
  return out;
}

/** The members of an interface that have no doc comment (index and call signatures aside). */
function interfaceMembersOf(d, checker) {
  const sf = d.getSourceFile();
  const out = [];
  for (const m of d.members) {
    if (!m.name) continue;
    const sym = checker.getSymbolAtLocation(m.name);
    if (sym && ts.displayPartsToString(sym.getDocumentationComment(checker)).trim() !== "") continue;
    out.push({ name: m.name.getText(sf), node: m });
  }
  return out;
}

function render(manifest, pkg, entries) {
  // GitHub's heading anchors: lower case, punctuation dropped, repeats get -1, -2, ….
  const seen = new Map();
  for (const e of entries) {
    const base = e.name.toLowerCase().replace(/[^a-z0-9_-]/g, "");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    e.anchor = n === 0 ? base : `${base}-${n}`;
  }
  const lines = [
    `# ${manifest.name}`,
    "",
    `<!-- Generated by scripts/gen-api-docs.mjs from the TSDoc in packages/${pkg}/src. Do not edit. -->`,
    "",
    manifest.description ? `${manifest.description}.` : "",
    "",
    "| kind | name | summary |",
    "|---|---|---|",
    ...entries.map((e) => `| ${e.kind} | [\`${e.name}\`](#${e.anchor}) | ${firstSentence(e.doc)} |`),
    "",
  ];
  for (const e of entries) {
    lines.push(`## ${e.name}`, "", `*${e.kind}*, in \`${e.file}\``, "", "```ts", e.signature, "```", "");
    if (e.doc) lines.push(e.doc, "");
    if (e.members.length > 0) {
      lines.push("| member | description |", "|---|---|");
      for (const m of e.members) lines.push(`| \`${m.sig.replace(/\|/g, "\\|")}\` | ${m.doc.replace(/\n+/g, " ").replace(/\|/g, "\\|")} |`);
      lines.push("");
    }
  }
  return lines.join("\n").replace(/\n{3,}/g, "\n\n");
}

function firstSentence(doc) {
  if (!doc) return "";
  const s = doc.split(/\n\n/)[0].replace(/\n/g, " ");
  const m = /^(.*?\.)(\s|$)/.exec(s);
  return (m ? m[1] : s).replace(/\|/g, "\\|").slice(0, 200);
}

/** docs/cli.md: `bpfkit --help` and every command's --help, from the built CLI. */
async function writeCliReference() {
  const dist = join(root, "packages", "cli", "dist", "index.js");
  if (!existsSync(dist)) {
    process.stderr.write("gen-api-docs: packages/cli is not built; docs/cli.md left as it is\n");
    return;
  }
  const cli = await import(pathToFileURL(dist).href);
  const lines = [
    "# The `bpfkit` command",
    "",
    "<!-- Generated by scripts/gen-api-docs.mjs from the commands' own --help. Do not edit. -->",
    "",
    "Run it as `npm run bpfkit -- <command>` in this repository, or `bpfkit <command>` where `@bpfkit/cli` is installed.",
    "",
    "```",
    cli.overview().trimEnd(),
    "```",
    "",
  ];
  for (const c of cli.COMMANDS) lines.push(`## bpfkit ${c.name}`, "", "```", cli.commandHelp(c).trimEnd(), "```", "");
  const text = lines.join("\n");
  const out = join(root, "docs", "cli.md");
  if ((existsSync(out) ? readFileSync(out, "utf8") : "") !== text) {
    stale++;
    if (!check) writeFileSync(out, text);
  }
  process.stderr.write(`gen-api-docs: docs/cli.md: ${cli.COMMANDS.length} commands\n`);
}

function writeIndex() {
  const lines = ["# API reference", "", "Generated from the TSDoc comments by `node scripts/gen-api-docs.mjs`.", ""];
  for (const pkg of packages) {
    if (existsSync(join(outDir, `${pkg}.md`))) {
      const manifest = JSON.parse(readFileSync(join(root, "packages", pkg, "package.json"), "utf8"));
      lines.push(`- [${manifest.name}](${pkg}.md): ${manifest.description ?? ""}`);
    }
  }
  const text = lines.join("\n") + "\n";
  const out = join(outDir, "README.md");
  if ((existsSync(out) ? readFileSync(out, "utf8") : "") !== text) {
    if (check) stale++;
    else writeFileSync(out, text);
  }
}
