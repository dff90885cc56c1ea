// Drive `async-pitfalls-lint server` with the protocol library VS Code's language client is
// built on (vscode-languageserver-protocol / vscode-jsonrpc), as a VS Code extension would.
//
//   npm install vscode-languageserver-protocol@3.17.5
//   node scripts/editors/vscode_jsonrpc_smoke.js
//
// It writes a two-module FastAPI project to a temporary folder, opens its main.py, and checks
// what an editor shows: the diagnostics (with the chain of the cross-module one), the hover on
// the route, the code actions, the preferred quick fix applied as an unsaved change, and the
// diagnostics of that change. It prints what it saw and exits 1 if anything is missing.
"use strict";
const assert = require("assert");
const cp = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const lsp = require("vscode-languageserver-protocol/node");

const MAIN = `import time

from fastapi import FastAPI

from helpers import load

app = FastAPI()


@app.get("/")
async def index():
    time.sleep(1)
    return load()
`;
const HELPERS = `import requests


def load():
    return requests.get("https://example.com", timeout=5).json()
`;

function applyEdits(text, edits) {
  const lines = text.split("\n");
  const offset = (p) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  for (const edit of sorted) {
    text = text.slice(0, offset(edit.range.start)) + edit.newText + text.slice(offset(edit.range.end));
  }
  return text;
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "apl-vscode-"));
  fs.writeFileSync(path.join(root, "pyproject.toml"), '[project]\nname = "shop"\n');
  fs.writeFileSync(path.join(root, "main.py"), MAIN);
  fs.writeFileSync(path.join(root, "helpers.py"), HELPERS);
  const uri = "file://" + path.join(root, "main.py");
  const server = cp.spawn("async-pitfalls-lint", ["server"], { cwd: root });
  server.stderr.on("data", (chunk) => process.stderr.write(chunk));
  const connection = lsp.createProtocolConnection(
    new lsp.StreamMessageReader(server.stdout),
    new lsp.StreamMessageWriter(server.stdin)
  );
  const published = [];
  const waiters = [];
  connection.onNotification(lsp.PublishDiagnosticsNotification.type, (params) => {
    published.push(params);
    waiters.splice(0).forEach((wake) => wake());
  });
  connection.onNotification(lsp.LogMessageNotification.type, (params) =>
    console.log(`log: ${params.message}`)
  );
  connection.onRequest(lsp.RegistrationRequest.type, () => null);
  connection.onRequest(lsp.ConfigurationRequest.type, (params) => params.items.map(() => null));
  connection.listen();
  const diagnosticsOf = async (version) => {
    for (let tries = 0; tries < 300; tries++) {
      const found = published.find((p) => p.uri === uri && p.version === version);
      if (found) return found.diagnostics;
      await new Promise((wake) => {
        waiters.push(wake);
        setTimeout(wake, 100);
      });
    }
    throw new Error(`no diagnostics for version ${version}`);
  };

  const init = await connection.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid,
    clientInfo: { name: "vscode-jsonrpc smoke" },
    rootUri: "file://" + root,
    workspaceFolders: [{ uri: "file://" + root, name: "shop" }],
    capabilities: {
      textDocument: {
        synchronization: { didSave: true, dynamicRegistration: true },
        publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true, versionSupport: true },
        codeAction: {
          codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix", "source.fixAll"] } },
          isPreferredSupport: true,
        },
        hover: { contentFormat: ["markdown", "plaintext"] },
      },
      workspace: { workspaceFolders: true, configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } },
    },
  });
  console.log(`server: ${init.serverInfo.name} ${init.serverInfo.version}`);
  connection.sendNotification(lsp.InitializedNotification.type, {});
  connection.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "python", version: 1, text: MAIN },
  });
  const first = await diagnosticsOf(1);
  for (const d of first) {
    const chain = (d.relatedInformation || []).map((r) => `${path.basename(r.location.uri)}:${r.location.range.start.line + 1}`);
    console.log(`diagnostic ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.code} ${d.codeDescription ? d.codeDescription.href : "-"} chain=[${chain}]`);
  }
  assert.deepStrictEqual(first.map((d) => d.code).sort(), ["APL101", "APL202"]);
  assert.ok(first.find((d) => d.code === "APL202").relatedInformation.some((r) => r.location.uri.endsWith("helpers.py")));

  const hover = await connection.sendRequest(lsp.HoverRequest.type, {
    textDocument: { uri },
    position: { line: 10, character: 12 },
  });
  console.log(`hover: ${hover.contents.value.split("\n")[0]}`);
  assert.match(hover.contents.value, /event loop/);

  const sleep = first.find((d) => d.code === "APL101");
  const actions = await connection.sendRequest(lsp.CodeActionRequest.type, {
    textDocument: { uri },
    range: sleep.range,
    context: { diagnostics: [sleep] },
  });
  for (const action of actions) console.log(`action: ${action.title}${action.isPreferred ? " (preferred)" : ""} [${action.kind}]`);
  const preferred = actions.find((a) => a.isPreferred);
  assert.ok(preferred && preferred.edit, "a preferred quick fix with an edit");
  const fixed = applyEdits(MAIN, preferred.edit.changes[uri]);
  connection.sendNotification(lsp.DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ text: fixed }],
  });
  const second = await diagnosticsOf(2);
  console.log(`after the fix: ${second.map((d) => d.code).join(", ")}`);
  assert.deepStrictEqual(second.map((d) => d.code), ["APL202"]);

  await connection.sendRequest(lsp.ShutdownRequest.type);
  connection.sendNotification(lsp.ExitNotification.type);
  await new Promise((done) => server.on("exit", done));
  console.log(`server exited with ${server.exitCode}`);
  assert.strictEqual(server.exitCode, 0);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  }
);
