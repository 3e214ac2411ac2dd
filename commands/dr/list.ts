import {loadConfig} from '../../src/config/load.js';
import {backupRoot, backupsOnDisk, dirSize} from '../../src/dr/layout.js';
import {withReadLedger} from '../../src/audit/chain.js';
import {listBackups} from '../../src/ledger/backups.js';
import {renderBackupList, type BackupRow} from '../../src/ui/dr-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

export default class DrList extends OrxCommand {
  static override summary = 'List backups with size, age and whether a restore drill has verified them.';
  static override examples = ['orx dr list', 'orx dr list --json'];

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(DrList);
    await this.setup(flags);
    const loaded = loadConfig(this.orx.dir);
    const root = backupRoot(this.orx.dir, loaded.config);
    const recorded = await withReadLedger(this.orx.dir, (l) => listBackups(l)).catch(() => []);
    const byId = new Map(recorded.map((r) => [r.id, r]));
    const now = Date.now();
    const rows: BackupRow[] = backupsOnDisk(root).map((b) => {
      const r = byId.get(b.id);
      const created = r?.created_at ?? null;
      return {
        id: b.id,
        dir: b.dir,
        created_at: created,
        age_s: created ? Math.round((now - Date.parse(created)) / 1000) : null,
        size: r?.size ?? dirSize(b.dir),
        verified_at: r?.verified_at ?? null,
        recorded: Boolean(r),
      };
    });
    return {data: {destination: root, backups: rows}, human: renderBackupList(root, rows)};
  }
}
