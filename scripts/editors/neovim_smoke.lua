-- Drive async-pitfalls-lint server from headless Neovim (0.7: vim.lsp.start_client).
local root = vim.fn.getcwd()
local id = vim.lsp.start_client({
  name = "async-pitfalls-lint",
  cmd = { "async-pitfalls-lint", "server" },
  root_dir = root,
  workspace_folders = { { uri = vim.uri_from_fname(root), name = "shop" } },
})
vim.cmd("edit main.py")
vim.lsp.buf_attach_client(0, id)
local out = {}
local function say(line) table.insert(out, line) end
vim.wait(30000, function() return #vim.diagnostic.get(0) >= 2 end, 100)
for _, d in ipairs(vim.diagnostic.get(0)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  say(string.format("diagnostic %d:%d %s %s related=%d", d.lnum + 1, d.col + 1,
    tostring(lsp.code), d.source or "", #(lsp.relatedInformation or {})))
end
local uri = vim.uri_from_bufnr(0)
local hover = vim.lsp.buf_request_sync(0, "textDocument/hover",
  { textDocument = { uri = uri }, position = { line = 10, character = 12 } }, 10000)
for _, response in pairs(hover or {}) do
  if response.result then say("hover: " .. response.result.contents.value:gsub("\n", " "):sub(1, 120)) end
end
local actions = vim.lsp.buf_request_sync(0, "textDocument/codeAction", {
  textDocument = { uri = uri },
  range = { start = { line = 11, character = 4 }, ["end"] = { line = 11, character = 17 } },
  context = { diagnostics = {} },
}, 10000)
for _, response in pairs(actions or {}) do
  for _, action in ipairs(response.result or {}) do
    say("action: " .. action.title .. (action.isPreferred and " [preferred]" or ""))
  end
  local first = (response.result or {})[1]
  if first and first.edit then
    vim.lsp.util.apply_workspace_edit(first.edit, "utf-16")
    say("after the fix, line 12: " .. vim.api.nvim_buf_get_lines(0, 11, 12, false)[1])
  end
end
vim.wait(5000, function() return #vim.diagnostic.get(0) == 1 end, 100)
say("diagnostics after the fix: " .. #vim.diagnostic.get(0))
vim.fn.writefile(out, root .. "/nvim-result.txt")
vim.lsp.stop_client(id)
vim.wait(3000, function() return vim.lsp.client_is_stopped(id) end, 100)
vim.cmd("qa!")
