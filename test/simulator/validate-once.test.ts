import { Simulator } from './simulator';

/** The simulator validates its definition with asl-validator once, not in every run; an edited definition again. */
const template = {
  Resources: {
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { DefinitionString: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }) },
    },
  },
};

test('a definition made invalid after the first run is refused in the next run', async () => {
  const sim = await Simulator.start({ template });
  try {
    expect((await sim.run({})).status).toBe('SUCCEEDED');
    expect((await sim.run({})).status).toBe('SUCCEEDED');
    (sim.stateMachine.definition.States as any).Done.Next = 'Nowhere';
    await expect(sim.run({})).rejects.toThrow(/definition is invalid/);
  } finally {
    await sim.stop();
  }
});
