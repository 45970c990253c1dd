-- client:paginate(op, params[, {items = true}]): iterate pages (or the items of the
-- paginator's result keys) following the model's paginator definition.
local jmespath = require "aws.jmespath"

local M = {}

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

local function same(a, b)
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then return false end
  end
  return true
end

function M.iterate(client, opname, params, opts)
  local model = client._model
  local op, name = model:operation(opname)
  if not op then error(client._service .. ": no operation " .. tostring(opname), 3) end
  local pg = model.paginators[name]
  if not pg then error(string.format("%s:%s cannot be paginated (the model has no paginator for it)", client._service, name), 3) end
  if opts ~= nil and type(opts) ~= "table" then error("paginate: options must be a table", 3) end
  opts = opts or {}
  local inputs, outputs = as_list(pg.input_token), as_list(pg.output_token)
  local result_keys = as_list(pg.result_key)
  local base = {}
  for k, v in pairs(params or {}) do base[k] = v end
  local max_pages = opts.max_pages
  local pages, done, prev_tokens = 0, false, nil
  local request = base

  local function next_page()
    if done then return nil end
    if max_pages and pages >= max_pages then done = true return nil end
    local page = client:call(name, request)
    pages = pages + 1
    if page.dry_run then done = true return page end
    local tokens, any = {}, false
    for i, path in ipairs(outputs) do
      local t = jmespath.search(path, page)
      if t == "" then t = nil end
      tokens[i] = t
      if t ~= nil then any = true end
    end
    local more = true
    if pg.more_results then more = jmespath.search(pg.more_results, page) and true or false end
    if not any or not more or (prev_tokens and same(prev_tokens, tokens)) then
      done = true
    else
      prev_tokens = tokens
      request = {}
      for k, v in pairs(base) do request[k] = v end
      for i, key in ipairs(inputs) do request[key] = tokens[i] end
    end
    return page
  end

  if not opts.items then return next_page end

  local page, keyi, idx, items = nil, 1, 0, nil
  return function()
    while true do
      if items and idx < #items then
        idx = idx + 1
        return items[idx]
      end
      if page and keyi < #result_keys then
        keyi = keyi + 1
      else
        page = next_page()
        if not page then return nil end
        keyi = 1
      end
      local v = result_keys[keyi] and jmespath.search(result_keys[keyi], page)
      items = type(v) == "table" and v or {}
      idx = 0
    end
  end
end

return M
