-- What rest-json and rest-xml share: URI labels, query string, headers and prefix headers
-- on the way out; status code and headers on the way back.
local json = require "irhost.json"
local util = require "aws.util"

local M = {}
local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }
local split_header_list

local function scalar_text(ref, shape, v, default_ts)
  local t = shape.type
  if t == "boolean" then return util.bool_text(v) end
  if t == "timestamp" then
    return tostring(util.format_time(util.parse_time(v), ref.timestampFormat or shape.timestampFormat or default_ts))
  end
  if t == "blob" then return util.base64(v) end
  if type(v) == "number" then return util.number_text(v) end
  return tostring(v)
end

local function header_text(model, ref, v)
  local shape = model.shapes[ref.shape]
  if ref.jsonvalue or shape.jsonvalue then return util.base64(json.encode(v)) end
  if shape.type == "list" then
    local parts = {}
    local mshape = model.shapes[shape.member.shape]
    for i, item in ipairs(v) do
      local s = scalar_text(shape.member, mshape, item, "rfc822")
      if mshape.type == "string" and s:find('[,"]') then s = '"' .. s:gsub('[\\"]', "\\%0") .. '"' end
      parts[i] = s
    end
    return table.concat(parts, ", ")
  end
  if shape.type == "string" and (ref.jsonvalue or shape.jsonvalue) then return util.base64(v) end
  return scalar_text(ref, shape, v, "rfc822")
end

-- Splits params into the request's URI, query, headers and the members left for the body.
-- Returns req {method, path, query, headers, host_prefix} and body_params.
function M.bind(model, op, params)
  local http = op.http or {}
  local input = op.input and model:shape(op.input)
  local members = input and input.members or {}
  params = params or {}
  local req = { method = http.method or "POST", headers = {}, query = "" }
  local uri = http.requestUri or "/"
  local path, static_query = uri:match("^([^?]*)%??(.*)$")

  local labels = {}
  for name, ref in pairs(members) do
    if ref.location == "uri" then labels[ref.locationName or name] = name end
  end
  req.path = path:gsub("{([^}]+)}", function(label)
    local greedy = label:sub(-1) == "+"
    local key = greedy and label:sub(1, -2) or label
    local v = params[labels[key] or key]
    if v == nil then return "" end
    local ref = members[labels[key] or key]
    local s = scalar_text(ref, model.shapes[ref.shape], v, "iso8601")
    return util.urlencode(s, greedy and "/" or nil)
  end)

  local q, seen = {}, {}
  if static_query ~= "" then
    for item in static_query:gmatch("[^&]+") do
      q[#q + 1] = item
      seen[(item:match("^([^=]*)"))] = true
    end
  end
  local body = {}
  local has_body = false
  local maps = {}
  for _, name in ipairs(util.sorted_keys(params)) do
    local v = params[name]
    local ref = members[name]
    if ref and v ~= nil then
      local loc = ref.location
      local shape = model.shapes[ref.shape]
      if loc == "querystring" then
        local qn = ref.locationName or name
        if shape.type == "list" then
          for _, item in ipairs(v) do
            q[#q + 1] = util.urlencode(qn) .. "=" .. util.urlencode(scalar_text(shape.member, model.shapes[shape.member.shape], item, "iso8601"))
          end
          seen[qn] = true
        elseif shape.type == "map" then
          maps[#maps + 1] = { shape, v }
        else
          q[#q + 1] = util.urlencode(qn) .. "=" .. util.urlencode(scalar_text(ref, shape, v, "iso8601"))
          seen[qn] = true
        end
      elseif loc == "header" then
        local hn = (ref.locationName or name):lower()
        if not (shape.type == "list" and #v == 0) then req.headers[hn] = header_text(model, ref, v) end
      elseif loc == "headers" then
        local prefix = (ref.locationName or ""):lower()
        for k, val in pairs(v) do req.headers[prefix .. k:lower()] = tostring(val) end
      elseif loc ~= "uri" and loc ~= "statusCode" then  -- uri: bound above; statusCode: output only
        body[name] = v
        has_body = true
      end
    end
  end
  -- Map-valued query members come last: a named query member wins over a map key.
  for _, m in ipairs(maps) do
    local shape, v = m[1], m[2]
    local vshape = model.shapes[shape.value.shape]
    for _, k in ipairs(util.sorted_keys(v)) do
      if not seen[k] then
        local vals = vshape.type == "list" and v[k] or { v[k] }
        for _, item in ipairs(vals) do
          q[#q + 1] = util.urlencode(k) .. "=" .. util.urlencode(tostring(item))
        end
      end
    end
  end
  req.query = table.concat(q, "&")
  return req, body, has_body
end

-- Expands the operation's host prefix ("{AccountId}.") from hostLabel members.
function M.host_prefix(model, op, params)
  local hp = op.endpoint and op.endpoint.hostPrefix
  if not hp then return nil end
  return (hp:gsub("{([^}]+)}", function(name) return tostring(params and params[name] or "") end))
end

-- Splits a list header: comma-separated, items may be "quoted" (with \" escapes); HTTP
-- dates contain a comma of their own ("Mon, 16 Dec 2019 23:48:18 GMT").
split_header_list = function(v, dates)
  local items, i, n = {}, 1, #v
  while i <= n do
    while i <= n and v:sub(i, i):match("[ \t]") do i = i + 1 end
    if i > n then break end
    local item
    if v:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n and v:sub(j, j) ~= '"' do
        if v:sub(j, j) == "\\" then j = j + 1 end
        buf[#buf + 1] = v:sub(j, j)
        j = j + 1
      end
      item = table.concat(buf)
      i = (v:find(",", j, true) or n) + 1
    else
      local stop = v:find(",", i, true)
      if dates and stop and v:sub(i, stop - 1):match("^%a%a%a$") then stop = v:find(",", stop + 1, true) end
      item = v:sub(i, (stop or n + 1) - 1):gsub("%s+$", "")
      i = (stop or n) + 1
    end
    items[#items + 1] = item
  end
  return items
end
M.split_header_list = split_header_list

-- Fills header, prefix-header and status-code members of the output into out.
function M.parse_head(model, shape, status, headers, out)
  for name, ref in pairs(shape.members or {}) do
    local loc = ref.location
    local mshape = model.shapes[ref.shape]
    if loc == "statusCode" then
      out[name] = status
    elseif loc == "header" then
      local v = headers[(ref.locationName or name):lower()]
      if v ~= nil then
        local t = mshape.type
        if ref.jsonvalue or mshape.jsonvalue then
          local ok, d = pcall(json.decode, util.unbase64(v))
          out[name] = ok and d or v
        elseif t == "list" then
          local mt = model.shapes[mshape.member.shape].type
          local items = split_header_list(v, mt == "timestamp")
          for i, item in ipairs(items) do
            if mt == "integer" or mt == "long" then items[i] = math.tointeger(tonumber(item)) or tonumber(item)
            elseif mt == "boolean" then items[i] = item == "true"
            elseif mt == "timestamp" then local ts = util.parse_time(item); items[i] = ts and util.iso8601(ts) or item end
          end
          out[name] = items
        elseif t == "integer" or t == "long" or t == "short" or t == "byte" then
          out[name] = math.tointeger(tonumber(v)) or tonumber(v)
        elseif t == "float" or t == "double" then
          out[name] = SPECIAL[v] or tonumber(v)
        elseif t == "boolean" then
          out[name] = v == "true"
        elseif t == "timestamp" then
          local ts = util.parse_time(v)
          out[name] = ts and util.iso8601(ts) or v
        elseif t == "blob" then
          out[name] = util.unbase64(v)
        else
          out[name] = v
        end
      end
    elseif loc == "headers" then
      local prefix = (ref.locationName or ""):lower()
      local m = {}
      for k, v in pairs(headers) do
        if k:sub(1, #prefix) == prefix then m[k:sub(#prefix + 1)] = v end
      end
      out[name] = m
    end
  end
end

-- The payload member of a shape and its shape, if any; streaming is true for blob/string.
function M.payload(model, shape)
  local p = shape and shape.payload
  if not p then return nil end
  local ref = shape.members[p]
  local ps = model.shapes[ref.shape]
  return p, ref, ps, (ps.type == "blob" or ps.type == "string")
end

-- Serializes a REST request: the HTTP bindings here, the body by the protocol's codec
-- (payload(model, ref, shape, value), no_payload(), members(model, op, input, members),
-- no_body(input), each returning the body and its content type, if any).
function M.serialize(model, op, params, codec)
  params = params or {}
  local req, body_params, has_body = M.bind(model, op, params)
  local input = op.input and model:shape(op.input)
  local pname, pref, pshape, streaming = M.payload(model, input)
  local ctype
  if pname then
    local v = params[pname]
    if streaming then
      req.body = v ~= nil and tostring(v) or ""
      if v ~= nil then ctype = pshape.type == "string" and "text/plain" or "application/octet-stream" end
    elseif v ~= nil then
      req.body, ctype = codec.payload(model, pref, pshape, v)
    else
      req.body, ctype = codec.no_payload()
    end
  elseif has_body then
    req.body, ctype = codec.members(model, op, input, body_params)
  else
    req.body, ctype = codec.no_body(input)
  end
  if ctype and not req.headers["content-type"] then req.headers["content-type"] = ctype end
  return req
end

-- Parses a REST response: headers, status and streaming payloads here, the body by the
-- protocol's codec (decode(body) -> doc | nil, err; parse_payload(model, ref, doc);
-- parse_members(model, shape, doc, out)).
function M.parse(model, op, status, headers, body, codec)
  local out = {}
  if not op.output then return out end
  local shape = model:shape(op.output)
  M.parse_head(model, shape, status, headers, out)
  local pname, pref, _, streaming = M.payload(model, shape)
  if pname and streaming then
    out[pname] = body or ""
    return out
  end
  if not body or body == "" then return out end
  local doc, err = codec.decode(body)
  if doc == nil then return nil, err end
  if pname then
    out[pname] = codec.parse_payload(model, pref, doc)
  else
    codec.parse_members(model, shape, doc, out)
  end
  return out
end

return M
