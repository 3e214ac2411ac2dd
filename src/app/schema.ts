// `orx schema`: the published JSON Schemas, printed as they are.
import {readPublishedSchema} from '../config/schema.js';

export const publishedSchema = (which: 'config' | 'plan' | 'policy') => readPublishedSchema(which);
