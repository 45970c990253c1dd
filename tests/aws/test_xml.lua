-- irhost.xml: the expat reader's compact tree, namespaces and refusals.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local xml = require "irhost.xml"

local doc = xml.parse([==[<?xml version="1.0" encoding="UTF-8"?>
<R xmlns="http://ec2.amazonaws.com/doc/2016-11-15/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <requestId>abc</requestId>
  <set><item><id>1</id></item><item><id>2</id></item></set>
  <Grantee xsi:type="CanonicalUser"><ID>x</ID></Grantee>
  <empty/>
  <space> </space>
  <esc>&lt;a&gt; &amp; &#65;<![CDATA[<raw>]]></esc>
  <p:pre xmlns:p="urn:x" a="1">t</p:pre>
</R>]==])
t.ok(doc ~= nil, "parse: a document")
t.eq(doc[1], "R", "doc[1]: root name without namespace")
local root = doc[2]
t.eq(#root, 14, "root: seven (name, value) pairs, no text nodes")
t.eq(root.attrs, nil, "xmlns declarations are not attributes")
t.ok(root[1] == "requestId" and root[2] == "abc", "leaves are plain strings")
t.ok(root[4][1] == "item" and root[4][4][2] == "2", "nested lists in order")
t.eq(root[6].attrs["xsi:type"], "CanonicalUser", "prefixed attribute keeps its prefix")
t.eq(root[6][2], "x", "element with attributes and children")
t.eq(root[8], "", "empty element is an empty string")
t.eq(root[10], " ", "whitespace-only leaf text kept")
t.eq(root[12], "<a> & A<raw>", "entities and CDATA decoded")
t.ok(root[13] == "pre" and root[14].attrs.a == "1" and root[14].text == "t", "prefixed element: local name; attributes and text")
t.eq(root.text, nil, "elements with children carry no text")

local r, err = xml.parse("<a>\n<b></a>")
t.ok(r == nil and err:match("^xml: line 2:%d+: mismatched tag"), "errors say line:col", err)
r, err = xml.parse([[<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>]])
t.ok(r == nil and err:find("DTD", 1, true), "billion laughs: DTDs refused", err)
r, err = xml.parse([[<!DOCTYPE x SYSTEM "file:///etc/passwd"><x>&ext;</x>]])
t.ok(r == nil, "external entities refused", err)
r, err = xml.parse(string.rep("<a>", 129) .. string.rep("</a>", 129))
t.ok(r == nil and err:find("nested too deeply", 1, true), "depth over 128 refused", err)
t.ok(xml.parse(string.rep("<a>", 100) .. string.rep("</a>", 100)) ~= nil, "depth of 100 accepted")
r, err = xml.parse("")
t.ok(r == nil and err:match("^xml: line"), "empty document is an error", err)
t.ok(xml.parse("<a>&undefined;</a>") == nil, "undefined entities refused")
t.ok(xml.parse("<a></a><b/>") == nil, "one root element only")
t.raises(function() xml.parse({}) end, "string expected", "argument checked")

local parts = { "<L>" }
for i = 1, 2000 do parts[#parts + 1] = "<m k=\"" .. i .. "\">" .. i .. "</m>" end
parts[#parts + 1] = "</L>"
local big = xml.parse(table.concat(parts))[2]
t.ok(#big == 4000 and big[4000].attrs.k == "2000" and big[4000].text == "2000", "2,000 siblings")

return t.done()
