import Apply from './apply.js';
import Destroy from './destroy.js';
import Events from './events.js';
import ForceUnlock from './force-unlock.js';
import Import from './import.js';
import Init from './init.js';
import Plan from './plan.js';
import Runs from './runs.js';
import Schema from './schema.js';
import Show from './show.js';
import StateList from './state/list.js';
import StateRm from './state/rm.js';
import StateShow from './state/show.js';
import Validate from './validate.js';

// explicit discovery: the command table is this object, nothing is globbed at start-up
export const COMMANDS = {
  apply: Apply,
  destroy: Destroy,
  events: Events,
  'force-unlock': ForceUnlock,
  import: Import,
  init: Init,
  plan: Plan,
  runs: Runs,
  schema: Schema,
  show: Show,
  'state:list': StateList,
  'state:rm': StateRm,
  'state:show': StateShow,
  validate: Validate,
};
