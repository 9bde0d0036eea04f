import { backupHandler } from './backup';
import { ModelViolation } from '../api-model';
import { ec2Handler } from './ec2';
import { FakeServer } from './http';
import { ssmHandler } from './ssm';
import { World } from '../world';

export { FakeServer } from './http';
export { Dynalite, createTables, dynamodbHandler } from './dynamodb';

export interface RunningFakes {
  readonly ec2: string;
  readonly ssm: string;
  readonly backup: string;
  /** Requests that broke the services' API models (api-model.ts). */
  modelViolations(): ModelViolation[];
  stop(): Promise<void>;
}

/** Start the EC2, SSM and Backup fakes of one world (without the rest of the simulator). */
export async function startFakes(world: World): Promise<RunningFakes> {
  const servers = await Promise.all([
    FakeServer.start('ec2', ec2Handler(world)),
    FakeServer.start('ssm', ssmHandler(world)),
    FakeServer.start('backup', backupHandler(world)),
  ]);
  return {
    ec2: servers[0].url,
    ssm: servers[1].url,
    backup: servers[2].url,
    modelViolations: () => servers.flatMap((s) => s.modelViolations),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
