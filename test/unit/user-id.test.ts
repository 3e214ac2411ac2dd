// uid 0 is uid 0 however `user` spells it; names resolve only through the image's passwd.
import {describe, expect, it} from 'vitest';
import {numericUser, outOfRangeId, parsePasswd} from '../../src/util/user-id.js';

describe('numericUser', () => {
  it('every spelling of root is uid 0', () => {
    for (const u of ['0', '00', '+0', '000', ' 0', 'root', '0:0', '0:x', 'root:wheel', '00:1000', ''])
      expect(numericUser(u).uid, JSON.stringify(u)).toBe(0);
  });

  it('numbers are numbers, names are unknown without a passwd', () => {
    expect(numericUser('1000:1000')).toEqual({uid: 1000, gid: 1000});
    expect(numericUser('01000')).toEqual({uid: 1000, gid: 1000});
    expect(numericUser('1000:0')).toEqual({uid: 1000, gid: 0});
    expect(numericUser('agent')).toEqual({uid: null, gid: null});
    expect(numericUser('1000:staff')).toEqual({uid: 1000, gid: null});
    expect(numericUser(null)).toEqual({uid: null, gid: null});
    expect(numericUser('root')).toEqual({uid: 0, gid: 0});
  });

  it('a name the image maps to 0 is root; primary groups come from the passwd', () => {
    const tables = parsePasswd(
      'root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nagent:x:1000:1001::/home/agent:/bin/sh\n# comment\nbroken-line\n',
    );
    expect(numericUser('toor', tables)).toEqual({uid: 0, gid: 0});
    expect(numericUser('agent', tables)).toEqual({uid: 1000, gid: 1001});
    expect(numericUser('agent:0', tables)).toEqual({uid: 1000, gid: 0});
    expect(numericUser('nobody-here', tables)).toEqual({uid: null, gid: null});
  });

  it('ids past what the engine takes are reported (they could wrap around to 0)', () => {
    expect(outOfRangeId('4294967296')).toBe('4294967296');
    expect(outOfRangeId('1000:99999999999')).toBe('99999999999');
    expect(outOfRangeId('2147483647')).toBeNull();
    expect(outOfRangeId('agent')).toBeNull();
    expect(numericUser('4294967296').uid).toBeNull();
  });
});
