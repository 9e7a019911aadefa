import { Template } from 'aws-cdk-lib/assertions';
import { VISIBILITY_FACTOR } from './queue-trigger';

/**
 * Every SQS event source whose queue's visibility timeout is under six times the function's
 * timeout: such a queue hands a message to a second invocation while the first still works.
 * Returns one line per offender.
 */
export function shortVisibilityQueues(template: Template): string[] {
  const json = template.toJSON() as { Resources: Record<string, any> };
  const resources = json.Resources;
  const problems: string[] = [];
  for (const [id, mapping] of Object.entries(resources)) {
    if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const queueId = mapping.Properties?.EventSourceArn?.['Fn::GetAtt']?.[0];
    const fnId = mapping.Properties?.FunctionName?.Ref;
    const queue = resources[queueId];
    const fn = resources[fnId];
    if (queue?.Type !== 'AWS::SQS::Queue') continue;
    const visibility = Number(queue.Properties?.VisibilityTimeout ?? 30);
    const timeout = Number(fn?.Properties?.Timeout ?? 3);
    if (visibility < VISIBILITY_FACTOR * timeout) {
      problems.push(
        `${id}: queue ${queueId} visibility ${visibility}s < ${VISIBILITY_FACTOR} x ${timeout}s of ${fnId}`,
      );
    }
  }
  return problems;
}
