-- aws.pattern: the models' Java-style patterns, whole-value match; nil when undecidable.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local p = require "aws.pattern"
local json = require "irhost.json"

local cases = {
  { "^[a-zA-Z0-9_\\-.]{3,128}$", "abc", true }, { "^[a-zA-Z0-9_\\-.]{3,128}$", "ab", false },
  { "^[a-zA-Z0-9_\\-.]{3,128}$", "ab c", false }, { "^\\d{12}$", "123456789012", true },
  { "^\\d{12}$", "12345678901", false }, { "[\\w+=,.@-]*", "ir-42@team", true },
  { "[\\w+=,.@-]*", "has space", false }, { "[\\w+=,.@-]*", "", true },
  { "^(?!\\s*$).+", "  ", false }, { "^(?!\\s*$).+", " a", true },
  { "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*", "héllo 😹\n", true },
  { "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*", "bell\7", false },
  { "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", "é", true },
  { "^(AWS|Custom):.*$", "Custom:x", true }, { "^(AWS|Custom):.*$", "Foo:x", false },
  { "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "Name tag:1", true },
  { "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "bad!", false },
  { "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "héllo", nil },
  { "[A-Za-z](?!.*--)[0-9A-Za-z-]*[^-]|^default(?!.*--)(?!.*\\.\\.)[0-9A-Za-z-.]*[^-]", "my-group", true },
  { "[A-Za-z](?!.*--)[0-9A-Za-z-]*[^-]|^default(?!.*--)(?!.*\\.\\.)[0-9A-Za-z-.]*[^-]", "my--group", false },
  { "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()", "", true },
  { "(\\$LATEST|[0-9]+)", "$LATEST", true }, { "(\\$LATEST|[0-9]+)", "latest", false },
  { "(^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)", "i-0123456789abcdef0", true },
  { "(^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)", "i-0123", false },
  { "\\1", "x", nil }, { "(?<!x)y", "y", nil },
  { "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", string.rep("a", 60), nil },  -- step budget: undecided
}
for _, c in ipairs(cases) do
  t.eq(p.check(c[1], c[2]), c[3], string.format("%s ~ \"%s\"", c[1], (c[2]:gsub("%c", "?"))))
end

-- Every pattern of every embedded model: decided for a simple value, bar the few listed.
local UNDECIDED = {
  ["(?s).*"] = true, ["(?i)all|[0-9]{12}"] = true, ["^[0-9A-Za-z\\.\\-_]*(?<!\\.)$"] = true,
}
local seen, undecided = {}, {}
for _, svc in ipairs(require("aws.model").services()) do
  for _, s in pairs(json.model(svc).shapes) do
    if s.pattern and not seen[s.pattern] then
      seen[s.pattern] = true
      if p.check(s.pattern, "x") == nil and p.check(s.pattern, "") == nil and not UNDECIDED[s.pattern]
        and not s.pattern:find("\\p{", 1, true) and #s.pattern < 200 then
        undecided[#undecided + 1] = s.pattern
      end
    end
  end
end
t.ok(#undecided == 0, "model patterns the matcher cannot read", table.concat(undecided, "\n"))

return t.done()
