import { functionCall } from './impact-estimate';

describe('functionCall: what keeps a statement from being planned with EXPLAIN', () => {
  it.each([
    'DELETE FROM notes WHERE id = 3',
    'DELETE FROM notes WHERE (id = 3 OR id IN (4, 5)) AND NOT EXISTS (SELECT 1 FROM patients WHERE patients.id = notes.id)',
    "UPDATE notes SET body = CONCAT(body, '!'), changed = NOW() WHERE created < DATE_SUB(NOW(), INTERVAL 1 DAY)",
    "UPDATE notes SET body = 'x' WHERE id = (SELECT MAX(id) FROM notes)",
  ])('lets %s be planned', (statement) => {
    expect(functionCall(statement)).toBeUndefined();
  });

  it.each([
    ['DELETE FROM notes WHERE id = add_hit()', 'add_hit'],
    ['DELETE FROM notes WHERE id = `add_hit`()', 'add_hit'],
    ['DELETE FROM notes WHERE id = clinic.add_hit()', 'add_hit'],
    ['DELETE FROM notes WHERE id = clinic . `concat`(1)', 'concat'],
    // With a space, the server looks for a stored function of that name, not the built-in.
    ['DELETE FROM notes WHERE id = concat (1)', 'concat'],
    ['DELETE FROM notes WHERE id = add_hit/**/()', 'add_hit'],
    ['UPDATE notes SET body = /*!add_hit()*/ 1', 'add_hit'],
    ['UPDATE notes SET body = 1 /*M!100000 + add_hit() */', 'add_hit'],
    ['UPDATE notes SET id = NEXT VALUE FOR seq', 'a sequence'],
    ['UPDATE notes SET id = nextval(seq)', 'a sequence'],
    ['UPDATE notes SET body = ÜBER()', 'ÜBER'],
  ])('refuses to plan %s', (statement, call) => {
    expect(functionCall(statement)).toBe(call);
  });
});
