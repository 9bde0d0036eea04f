import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The topic run notifications and alarms go to, when the user brings none: encrypted with `encryptionKey` (whose
 * policy the caller opens to CloudWatch alarms), or else with its own rotating key (which CloudWatch alarms may use
 * to publish), HTTPS-only.
 */
export function createNotificationTopic(scope: Construct, encryptionKey?: kms.IKey): sns.Topic {
  if (encryptionKey) {
    return new sns.Topic(scope, 'Notifications', {
      displayName: 'Pre/post-script backup runs',
      masterKey: encryptionKey,
      enforceSSL: true,
    });
  }
  const key = new kms.Key(scope, 'NotificationsKey', {
    description: 'Encrypts the pre/post-script backup notifications topic',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsPublish',
    principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
    actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
    resources: ['*'],
  }));
  return new sns.Topic(scope, 'Notifications', {
    displayName: 'Pre/post-script backup runs',
    masterKey: key,
    enforceSSL: true,
  });
}

/** The topic a construct notifies, from its notification props; `ownTopic` is set when the construct made it. */
export interface NotificationTopics {
  readonly topic?: sns.ITopic;
  readonly ownTopic?: sns.Topic;
}

/**
 * Notifications are on when `enableNotifications` says so, or else when a `notificationTopic` is given; when on
 * without a topic, the construct makes its own (see `createNotificationTopic`). The props were checked before
 * (`validateNotifications`).
 */
export function notificationTopicFor(
  scope: Construct,
  props: { readonly enableNotifications?: boolean; readonly notificationTopic?: sns.ITopic },
  encryptionKey?: kms.IKey,
): NotificationTopics {
  const on = props.enableNotifications ?? props.notificationTopic !== undefined;
  const ownTopic = on && !props.notificationTopic ? createNotificationTopic(scope, encryptionKey) : undefined;
  return { topic: on ? props.notificationTopic ?? ownTopic : undefined, ownTopic };
}
