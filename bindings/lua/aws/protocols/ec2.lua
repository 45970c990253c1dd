-- The ec2 protocol: the query protocol with EC2's naming, list and error rules.
local query = require "aws.protocols.query"

local M = {}
function M.serialize(model, op, params) return query.serialize(model, op, params, true) end
function M.parse(model, op, status, headers, body) return query.parse(model, op, status, headers, body, true) end
function M.parse_error(model, op, status, headers, body) return query.parse_error(model, op, status, headers, body, true) end
return M
