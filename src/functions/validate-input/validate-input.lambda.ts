import { parseSettings, validateInput } from './input';
import { type ValidateInputEvent } from '../../contract/messages';
import { type RunConfig } from '../../contract/settings';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const log = createLogger('validate-input');

/** Validates the execution input against the construct's settings (env `SETTINGS`) and returns the run's configuration. */
export const handler = async (event: ValidateInputEvent): Promise<RunConfig> => {
  log.correlate(correlationOf(event));
  const settings = parseSettings(process.env.SETTINGS);
  const execution = event?.execution?.name;
  try {
    const config = validateInput(event?.input, settings);
    log.info('input accepted', {
      execution,
      instanceIds: config.instanceIds.length,
      filterTagKey: config.filterTagKey,
      stopInstances: config.stopInstances,
      preScript: config.preScript.enabled,
      postScript: config.postScript.enabled,
    });
    return config;
  } catch (err) {
    log.warn('input rejected', { execution, error: err });
    throw err;
  }
};
