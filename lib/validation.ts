// Request validation: bodies are validated exactly as sent (no type
// coercion: a string where a number belongs is an error, and the body is
// forwarded as the client wrote it); querystrings and route params arrive as
// strings, so they are coerced to the schema's types.
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'

const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false }

function build(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes })
  ;(addFormats as unknown as (a: Ajv) => Ajv)(ajv)
  return ajv
}

const strict = build(false)
const coercing = build('array')

export function validatorCompiler({ schema, httpPart }: { schema: object; httpPart?: string }) {
  return (httpPart === 'body' ? strict : coercing).compile(schema)
}
