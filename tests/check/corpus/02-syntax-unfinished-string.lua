-- Fault: a string without its closing quote
return ir.runbook {
  name = "corpus-string",
  description = "Corpus runbook with one fault,
  permissions = {},
  steps = {
    { name = "Nothing", run = function() end },
  },
}
