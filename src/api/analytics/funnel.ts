import type { StageKind } from '../../db/schema/index';

type OrderedStage = { key: string; kind: StageKind };

/**
 * For each stage, its "next stage" and the stages that count as reaching it. Progress means moving
 * forward in pipeline order to a stage that is not a loss: entering the next stage, or skipping past
 * it (lead → contacted reaches qualified's share too). A lost stage has no next stage.
 */
export function progressTargets(
  stages: OrderedStage[],
): Map<string, { next: string | null; reach: string[] }> {
  const targets = new Map<string, { next: string | null; reach: string[] }>();
  stages.forEach((stage, i) => {
    if (stage.kind === 'lost') {
      targets.set(stage.key, { next: null, reach: [] });
      return;
    }
    const reach = stages
      .slice(i + 1)
      .filter((s) => s.kind !== 'lost')
      .map((s) => s.key);
    targets.set(stage.key, { next: reach[0] ?? null, reach });
  });
  return targets;
}
