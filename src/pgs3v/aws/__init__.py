"""pgs3v on AWS: the CloudFormation template and the ``pgs3v aws`` commands."""
