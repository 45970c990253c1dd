-- Fault: a typo in a declaration field
return ir.runbook {
  name = "corpus-field",
  descripton = "Corpus runbook with one fault",
  permissions = {},
  steps = {
    { name = "Nothing", run = function() end },
  },
}
