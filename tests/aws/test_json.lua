-- irhost.json: the guards around Debian's lua-cjson 2.1.0.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local json = require "irhost.json"

-- decode
local v = json.decode('{"a":[1,2.5,3e2,-7],"b":null,"c":"x"}')
t.eq(math.type(v.a[1]), "integer", "decode: integral numbers are Lua integers")
t.eq(v.a[2], 2.5, "decode: fractions stay floats")
t.eq(math.type(v.a[3]), "integer", "decode: 3e2 is an integer")
t.eq(v.b, json.null, "decode: null is json.null")
t.raises(function() json.decode(string.rep("[", 129) .. string.rep("]", 129)) end, "json.decode", "decode: nesting over 128 refused (decode_max_depth crasher)")
t.ok(pcall(json.decode, string.rep("[", 100) .. string.rep("]", 100)), "decode: nesting of 100 accepted")
t.raises(function() json.decode("[NaN]") end, "json.decode", "decode: NaN refused")
t.raises(function() json.decode("[Infinity]") end, "json.decode", "decode: Infinity refused")
t.raises(function() json.decode("{bad") end, "json.decode", "decode: syntax errors raise")
t.raises(function() json.decode(nil) end, "string expected", "decode: argument checked")

-- encode
t.raises(function() json.encode(0 / 0) end, "NaN or infinity", "encode: NaN refused")
t.raises(function() json.encode({ x = math.huge }) end, "NaN or infinity", "encode: Infinity refused")
t.raises(function() json.encode({ [1] = 1, [1000] = 2 }) end, "sparse", "encode: excessively sparse arrays refused")
local cyc = {}
cyc.self = cyc
t.raises(function() json.encode(cyc) end, "nesting deeper", "encode: cycles refused (encode_max_depth)")
local deep = {}
local cur = deep
for _ = 1, 200 do cur[1] = {}; cur = cur[1] end
t.raises(function() json.encode(deep) end, "nesting deeper", "encode: deep nesting refused")
t.raises(function() json.encode({ f = print }) end, "cannot encode a function", "encode: functions refused")
-- A string that could expand past the 64 MB cap (6 bytes per byte escaped) is refused
-- before cjson sees it (the >340 MB strbuf crasher).
local big = string.rep("\1", 12 * 1024 * 1024)
t.raises(function() json.encode({ big }) end, "exceed 64 MB", "encode: result over the cap refused up front")
big = nil
t.raises(function() json.encode({ [true] = 1 }) end, "keys must be strings", "encode: boolean keys refused")
t.eq(json.encode(json.array()), "[]", "encode: json.array() is []")
t.eq(json.encode({ a = json.array {} }), '{"a":[]}', "encode: nested empty array")
t.eq(json.encode(setmetatable({}, json.array_mt)), "[]", "encode: array_mt marks arrays")
t.eq(json.encode({}), "{}", "encode: plain empty table is an object")
t.eq(json.encode({ 12345678901234567 }), "[12345678901234567]", "encode: big integers keep every digit")
t.eq(json.encode({ 0.1 }), "[0.1]", "encode: short floats stay short")
t.eq(json.decode(json.encode({ 1 / 3 }))[1], 1 / 3, "encode: floats round-trip exactly")
t.eq(json.encode({ s = "\1" .. "irhjson" }), '{"s":"\\u0001irhjson"}', "encode: strings that look like sentinels are left alone")
t.eq(json.encode("x\"y"), '"x\\"y"', "encode: strings escaped")
t.eq(json.encode(json.null), "null", "encode: json.null")
t.ok(json.model("ec2") and json.model("ec2").metadata.protocol == "ec2", "model: embedded ec2 model decodes")
t.ok(json.model("../x") == nil and json.model("nosuch") == nil, "model: unknown or path-like names give nil")

return t.done()
