import { accountOf } from './target-account';

describe('accountOf (SHOW GRANTS → superuser or not)', () => {
  it('calls a global ALL PRIVILEGES or SUPER grant a superuser, and leaves password hashes out of the evidence', () => {
    const root = accountOf(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED BY PASSWORD '*81F5E21E35407D884A6CD4A731AEBFB6AF209E1B' WITH GRANT OPTION"], 'root');
    expect(root).toEqual({ user: '`root`@`localhost`', superuser: true, evidence: 'GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION' });
    expect(accountOf(['GRANT SELECT, SUPER ON *.* TO `ops`@`%`'], 'ops').superuser).toBe(true);
    expect(accountOf(['GRANT ALL ON *.* TO `ops`@`%`'], 'ops').superuser).toBe(true);
  });

  it('does not call database-level or narrower global grants a superuser, nor names that merely contain ALL', () => {
    expect(accountOf(['GRANT USAGE ON *.* TO `all`@`%`', 'GRANT ALL PRIVILEGES ON `clinic`.* TO `all`@`%`'], 'all')).toMatchObject({ user: '`all`@`%`', superuser: false });
    expect(accountOf(['GRANT SELECT, SHOW VIEW ON *.* TO `reader`@`%`', 'GRANT `superusers` TO `reader`@`%`'], 'reader').superuser).toBe(false);
    expect(accountOf([], 'reader')).toMatchObject({ user: 'reader', superuser: false });
  });
});
