// Attribute names are XML entity names in node files (`&Kickstart_Timezone;`): the CLI (`attr
// set`) and the REST API (PUT /api/v1/attributes/…) accept the same ones.
import { UserError } from '../errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** The name, or E_BAD_ATTRIBUTE naming it (`where`: the field it came in). */
export function validAttributeName(name: string, where = 'name'): string {
  if (!NAME.test(name))
    throw new UserError(
      'E_BAD_ATTRIBUTE',
      `not a valid attribute name: ${JSON.stringify(name.slice(0, 200))} (letters, digits, _ . -; starts with a letter or _)`,
      { where },
    );
  return name;
}
